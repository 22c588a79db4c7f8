import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { KeywayError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { type Random, randomToken } from '../core/random.ts';
import type { ConnectSessionRecord, Store } from '../store/index.ts';
import type { Actor, AuditWriter } from '../audit/index.ts';
import { buildAuthorizationUrl } from '../oauth/index.ts';
import { validateConnectionParams } from '../catalog/index.ts';
import type { IntegrationService } from '../integrations/index.ts';
import type { SecretSealer } from '../tokens/index.ts';
import { sha256 } from './hash.ts';

export const SESSION_TTL_MS = 30 * 60_000;
/** `state` is single-use and expires in 10 minutes (DESIGN.md). */
export const ATTEMPT_TTL_MS = 10 * 60_000;

export interface ConnectServiceDeps {
  store: Store;
  vault: SecretSealer;
  integrations: IntegrationService;
  clock: Clock;
  random: Random;
  audit: AuditWriter;
  publicUrl: string;
}

export interface NewSessionInput {
  integration: string;
  name?: string | undefined;
  externalId?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** Connection values for the definition's URL templates (subdomain, tenant, shop…). */
  params?: Record<string, string> | undefined;
}

/** A started attempt: where to send the browser, and the binding cookie to set on it. */
export interface StartedAttempt {
  redirectTo: string;
  cookie: { name: string; value: string; maxAgeSeconds: number };
}

export const BINDING_COOKIE_PREFIX = 'kw_ca_';

/** Connect sessions: a link an app hands a person, opened in their browser, ending in a connection. */
export class ConnectService {
  readonly #d: ConnectServiceDeps;
  constructor(deps: ConnectServiceDeps) {
    this.#d = deps;
  }

  async createSession(orgId: string, actor: Actor, memberId: string | null, input: NewSessionInput): Promise<{ session: ConnectSessionRecord; connectUrl: string }> {
    const integration = await this.#d.integrations.get(orgId, input.integration);
    const params = validateConnectionParams(this.#d.integrations.definition(integration), input.params);
    this.#d.integrations.resolved(integration, { params }); // endpoints built from the values pass the outbound policy
    const token = randomToken(this.#d.random, 32);
    const now = this.#d.clock.now();
    const session: ConnectSessionRecord = {
      id: newId('connectSession', this.#d.random), orgId, integrationId: integration.id, tokenHash: sha256(token),
      grant: 'authorization_code', params, scopes: null, reauthConnectionId: null, deviceCodeEnc: null, userCode: null,
      verificationUri: null, verificationUriComplete: null, pollIntervalS: null, nextPollAt: null,
      createdByMemberId: memberId, name: input.name ?? null, externalId: input.externalId ?? null,
      metadata: input.metadata ?? null, status: 'pending', connectionId: null, error: null,
      expiresAt: now + SESSION_TTL_MS, createdAt: now,
    };
    await this.#d.store.connectSessions.insert(session);
    this.#d.audit.record({ orgId, actor, action: 'connect_session.create', integrationId: integration.id, detail: { session: session.id } });
    return { session, connectUrl: `${this.#d.publicUrl}/connect/${token}` };
  }

  async getSession(orgId: string, id: string): Promise<ConnectSessionRecord> {
    const s = await this.#d.store.connectSessions.get(orgId, id);
    if (!s) throw new KeywayError('not_found', `No connect session ${id}.`);
    if (s.status === 'pending' && s.expiresAt <= this.#d.clock.now()) return { ...s, status: 'expired' };
    return s;
  }

  /**
   * The browser opened the connect link: bind the attempt to this browser (a cookie), and send it
   * to the provider with PKCE S256, a fresh single-use `state` and, for OIDC, a `nonce`.
   * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.7 (CSRF, state bound to the user agent)
   */
  async startAttempt(linkToken: string): Promise<StartedAttempt> {
    const { store, clock, random } = this.#d;
    const session = await store.connectSessions.findByTokenHash(sha256(linkToken));
    if (!session) throw new KeywayError('connect_failed', 'unknown_link');
    const now = clock.now();
    if (session.expiresAt <= now) throw new KeywayError('connect_failed', 'link_expired');
    if (session.status === 'connected') throw new KeywayError('connect_failed', 'state_invalid');
    const integration = await this.#d.integrations.get(session.orgId, session.integrationId);
    const ctx = await this.#d.integrations.oauthContext(integration, { params: session.params });
    const def = ctx.provider.definition;
    const state = randomToken(random, 32);
    const binding = randomToken(random, 32);
    const verifier = def.pkce.enabled ? randomToken(random, 32) : null;
    const nonce = ctx.provider.oidc ? randomToken(random, 16) : null;
    const attemptId = newId('connectAttempt', random);
    const redirectUri = this.#d.integrations.redirectUri(integration.id);
    await store.connectAttempts.insert({
      id: attemptId, orgId: session.orgId, sessionId: session.id, integrationId: integration.id,
      stateHash: sha256(state), browserHash: sha256(binding),
      verifierEnc: await this.#d.vault.encrypt({ orgId: session.orgId, recordId: attemptId, field: 'pkce_verifier' }, verifier ?? ''),
      nonce, issuer: ctx.provider.issuer, redirectUri, expiresAt: now + ATTEMPT_TTL_MS, usedAt: null, createdAt: now,
    });
    await store.connectAttempts.purgeExpired(now - ATTEMPT_TTL_MS);
    const url = buildAuthorizationUrl(ctx, {
      redirectUri, scopes: integration.scopes, state, nonce,
      codeChallenge: verifier ? createHash('sha256').update(verifier).digest('base64url') : null,
    });
    return {
      redirectTo: url.toString(),
      cookie: { name: `${BINDING_COOKIE_PREFIX}${attemptId.slice(3)}`, value: binding, maxAgeSeconds: ATTEMPT_TTL_MS / 1000 },
    };
  }
}
