import { hash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { KeywayError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { type Random, randomToken } from '../core/random.ts';
import { buildAuthorizationUrl, exchangeAuthorizationCode, pushAuthorizationRequest } from '../oauth/index.ts';
import type { MemberRecord, SignInAttemptRecord, Store } from '../store/index.ts';
import { type DiscoveredProvider, type OidcClientDeps, type SsoIdentity, discoverSignInProvider, identityOf } from './oidc-client.ts';
import { sha256Hex } from './sessions.ts';

export type { SsoIdentity } from './oidc-client.ts';

/** `state` is single-use and expires in 10 minutes, as for connections. */
export const SIGN_IN_ATTEMPT_TTL_MS = 10 * 60_000;
export const SIGN_IN_CALLBACK_PATH = '/auth/callback';
/** The cookie that binds an attempt to the browser that started it (prefix + attempt id). */
export const SIGN_IN_COOKIE_PREFIX = 'kw_si_';

export interface OidcSignInDeps extends OidcClientDeps {
  store: Store;
  clock: Clock;
  random: Random;
  publicUrl: string;
}

/** Where to go after signing in: a path on this server only (no open redirect). */
export function safeReturnTo(v: string | null | undefined): string | null {
  if (!v || !v.startsWith('/') || v.startsWith('//') || v.includes('\\') || v.length > 500) return null;
  return v;
}

/**
 * The PKCE verifier of an attempt, derived from the browser's binding secret: nothing secret about
 * the attempt is stored, and only the browser that started it can finish it.
 */
function verifierOf(binding: string): string {
  return hash('sha256', `keyway-pkce:${binding}`, 'base64url');
}

/**
 * Single sign-on with any OpenID Connect identity provider: Authorization Code + PKCE S256 + nonce,
 * `state` single-use and bound to the browser by a cookie, through src/oauth like connections.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.7 (CSRF: state bound to the user agent)
 */
export class OidcSignIn {
  readonly #d: OidcSignInDeps;
  #provider: Promise<DiscoveredProvider> | null = null;

  constructor(deps: OidcSignInDeps) {
    this.#d = deps;
  }

  get redirectUri(): string {
    return `${this.#d.publicUrl}${SIGN_IN_CALLBACK_PATH}`;
  }

  /** Discovered once; a failure is not kept, so the next sign-in tries again. */
  #discovered(): Promise<DiscoveredProvider> {
    this.#provider ??= discoverSignInProvider(this.#d).catch((e: unknown) => {
      this.#provider = null;
      throw e;
    });
    return this.#provider;
  }

  /** Starts an attempt: where to send the browser, and the binding cookie to set on it. */
  async start(opts: { orgId?: string | null; inviteId?: string | null; returnTo?: string | null } = {}): Promise<{ redirectTo: string; cookie: { name: string; value: string; maxAgeSeconds: number } }> {
    const p = await this.#discovered();
    const { store, clock, random } = this.#d;
    const now = clock.now();
    const state = randomToken(random, 32);
    const binding = randomToken(random, 32);
    const nonce = randomToken(random, 16);
    const attempt: SignInAttemptRecord = {
      id: newId('signInAttempt', random), orgId: opts.orgId ?? null, stateHash: sha256Hex(state), browserHash: sha256Hex(binding),
      nonce, inviteId: opts.inviteId ?? null, returnTo: safeReturnTo(opts.returnTo), expiresAt: now + SIGN_IN_ATTEMPT_TTL_MS, usedAt: null, createdAt: now,
    };
    await store.signInAttempts.insert(attempt);
    await store.signInAttempts.purgeExpired(now - SIGN_IN_ATTEMPT_TTL_MS);
    const request = {
      redirectUri: this.redirectUri, scopes: p.ctx.provider.definition.scopes.default, state, nonce,
      codeChallenge: hash('sha256', verifierOf(binding), 'base64url'),
    };
    const url = p.ctx.provider.usePar ? await pushAuthorizationRequest(p.ctx, request) : buildAuthorizationUrl(p.ctx, request);
    return {
      redirectTo: url.toString(),
      cookie: { name: `${SIGN_IN_COOKIE_PREFIX}${attempt.id.slice(4)}`, value: binding, maxAgeSeconds: SIGN_IN_ATTEMPT_TTL_MS / 1000 },
    };
  }

  /**
   * The identity provider sent the browser back. Checks, in order: state (single-use, unexpired),
   * the browser binding, the provider's own error; then exchanges the code (RFC 9207 `iss`, ID token
   * with our nonce) and asks who signed in. Throws `unauthorized` with what to do otherwise.
   */
  async finish(input: { callbackUrl: URL; cookies: Record<string, string | undefined> }): Promise<{ identity: SsoIdentity; attempt: SignInAttemptRecord; cookieName: string }> {
    const params = input.callbackUrl.searchParams;
    const state = params.get('state');
    const now = this.#d.clock.now();
    const attempt = state ? await this.#d.store.signInAttempts.consume(sha256Hex(state), now) : null;
    if (!state || !attempt) throw new KeywayError('unauthorized', 'This sign-in is not valid or was finished already. Start again from the sign-in page.');
    if (attempt.expiresAt <= now) throw new KeywayError('unauthorized', 'This sign-in took longer than 10 minutes. Start again from the sign-in page.');
    const cookieName = `${SIGN_IN_COOKIE_PREFIX}${attempt.id.slice(4)}`;
    const binding = input.cookies[cookieName];
    if (!binding || sha256Hex(binding) !== attempt.browserHash) {
      throw new KeywayError('unauthorized', 'This sign-in was started in another browser (or its cookie was lost). Start again in this browser.');
    }
    const providerError = params.get('error');
    if (providerError) {
      throw new KeywayError('unauthorized', providerError === 'access_denied' ? 'Sign-in was cancelled at the identity provider.' : `The identity provider refused the sign-in (${providerError.slice(0, 100)}).`);
    }
    const p = await this.#discovered();
    let identity: SsoIdentity;
    try {
      const tokens = await exchangeAuthorizationCode(p.ctx, {
        callbackUrl: input.callbackUrl, expectedState: state, expectedIssuer: p.ctx.provider.issuer,
        redirectUri: this.redirectUri, codeVerifier: verifierOf(binding), nonce: attempt.nonce,
      });
      identity = await identityOf(this.#d, p, tokens);
    } catch (e) {
      if (e instanceof KeywayError && e.code === 'unauthorized') throw e;
      throw new KeywayError('unauthorized', `Sign-in could not be completed with the identity provider${e instanceof KeywayError ? ` (${e.message})` : ''}. Start again.`, { cause: e });
    }
    return { identity, attempt, cookieName };
  }
}

/**
 * The member an identity signs in as: the one that recorded this (iss, sub), else — by verified
 * email only — a member who has recorded no identity yet (theirs is then recorded). With `orgId`,
 * only a membership in that organization; otherwise the oldest membership.
 */
export async function memberForIdentity(store: Store, id: SsoIdentity, orgId: string | null): Promise<MemberRecord | null> {
  const inOrg = (m: MemberRecord) => orgId === null || m.orgId === orgId;
  const known = (await store.members.findByIdentity(id.issuer, id.subject)).find(inOrg);
  if (known) return known;
  if (!id.email || !id.emailVerified) return null;
  const byEmail = (await store.members.findByEmail(id.email)).find((m) => inOrg(m) && (m.oidcSubject ?? null) === null);
  if (!byEmail) return null;
  if ((await store.members.setIdentity(byEmail.orgId, byEmail.id, id.issuer, id.subject)) !== 1) return null;
  return { ...byEmail, oidcIssuer: id.issuer, oidcSubject: id.subject };
}
