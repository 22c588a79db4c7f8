import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { KeywayError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { type Random, randomToken } from '../core/random.ts';
import type { ConnectGrant, ConnectSessionRecord, IntegrationRecord, Store, ConnectionRecord } from '../store/index.ts';
import type { Actor, AuditWriter } from '../audit/index.ts';
import { buildAuthorizationUrl, pushAuthorizationRequest, requestDeviceAuthorization } from '../oauth/index.ts';
import { validateConnectionParams } from '../catalog/index.ts';
import type { IntegrationService } from '../integrations/index.ts';
import type { SecretSealer } from '../tokens/index.ts';
import { requireGrant } from './grants.ts';
import { BINDING_COOKIE_PREFIX } from './binding.ts';
import { sha256 } from './hash.ts';
import { completeAttempt } from './callback.ts';
import { endSession, endedProblem } from './session-end.ts';
import { creatorRefusal } from './creator.ts';
import type { ConnectOutcome } from './outcome.ts';

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
  /** Called whenever a connection's stored tokens are replaced or deleted (drops cached tokens). */
  onTokensChanged?: (connectionId: string) => void;
  /** Called after a connection is created, re-authorized or deleted (webhooks). */
  onConnectionEvent?: (event: 'created' | 'reauthorized' | 'deleted', connection: ConnectionRecord) => void;
  /** Called when a re-authentication changes a connection's status (back to active: `connection.recovered`), as the token code does. */
  onStatusChange?: (before: ConnectionRecord, after: ConnectionRecord) => void;
}

export interface NewSessionInput {
  integration: string;
  /** Default `authorization_code` (a connect link); `device_code` for RFC 8628. */
  grant?: ConnectGrant | undefined;
  /** Scopes to request; default: the integration's. */
  scopes?: string[] | undefined;
  name?: string | undefined;
  externalId?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** Connection values for the definition's URL templates (subdomain, tenant, shop…). */
  params?: Record<string, string> | undefined;
}

/** A started session: a connect link (authorization code) or a code to enter (device flow). */
export interface StartedSession {
  session: ConnectSessionRecord;
  /** The link to open in the person's browser; null for the device flow. */
  connectUrl: string | null;
}

/** A started attempt: where to send the browser, and the binding cookie to set on it. */
export interface StartedAttempt {
  redirectTo: string;
  cookie: { name: string; value: string; maxAgeSeconds: number };
}

export { BINDING_COOKIE_PREFIX } from './binding.ts';

/** Connect sessions: a link an app hands a person (or a code for the device flow), ending in a connection. */
export class ConnectService {
  readonly #d: ConnectServiceDeps;
  constructor(deps: ConnectServiceDeps) {
    this.#d = deps;
  }

  createSession(orgId: string, actor: Actor, memberId: string | null, input: NewSessionInput): Promise<StartedSession> {
    return this.#create(orgId, actor, memberId, input, null);
  }

  /**
   * Re-authentication: a connect session whose completion replaces the tokens of an existing
   * connection (same account only) instead of making a new one. Scopes default to the connection's.
   */
  async createReauthSession(orgId: string, actor: Actor, memberId: string | null, connectionId: string,
    opts: { grant?: ConnectGrant | undefined; scopes?: string[] | undefined } = {}): Promise<StartedSession> {
    const conn = await this.#d.store.connections.get(orgId, connectionId);
    if (!conn) throw new KeywayError('not_found', `No connection ${connectionId}.`);
    if (conn.kind !== 'oauth2') {
      throw new KeywayError('invalid_request', conn.kind === 'client_credentials'
        ? 'A client-credentials connection has no person to re-authenticate; Keyway fetches its token again by itself (POST /v1/connections/{id}/refresh does it now).'
        : 'This connection holds an API key or password; re-authentication is for OAuth connections. Disconnect it and create it again with the new credential.');
    }
    return this.#create(orgId, actor, memberId, {
      integration: conn.integrationId, grant: opts.grant, scopes: opts.scopes ?? conn.requestedScopes, params: conn.params,
    }, conn.id);
  }

  async #create(orgId: string, actor: Actor, memberId: string | null, input: NewSessionInput, reauthConnectionId: string | null): Promise<StartedSession> {
    const integration = await this.#d.integrations.get(orgId, input.integration);
    const def = this.#d.integrations.definition(integration);
    const grant = input.grant ?? 'authorization_code';
    requireGrant(def, grant);
    const params = validateConnectionParams(def, input.params);
    this.#d.integrations.resolved(integration, { params }); // endpoints built from the values pass the outbound policy
    const token = randomToken(this.#d.random, 32);
    const now = this.#d.clock.now();
    const session: ConnectSessionRecord = {
      id: newId('connectSession', this.#d.random), orgId, integrationId: integration.id, tokenHash: sha256(token),
      grant, params, scopes: input.scopes ?? null, reauthConnectionId, deviceCodeEnc: null, userCode: null,
      verificationUri: null, verificationUriComplete: null, pollIntervalS: null, nextPollAt: null,
      createdByMemberId: memberId, name: input.name ?? null, externalId: input.externalId ?? null,
      metadata: input.metadata ?? null, status: 'pending', connectionId: null, error: null,
      expiresAt: now + SESSION_TTL_MS, createdAt: now,
    };
    if (grant === 'device_code') Object.assign(session, await this.#startDevice(session, integration));
    await this.#d.store.connectSessions.insert(session);
    this.#d.audit.record({
      orgId, actor, action: 'connect_session.create', integrationId: integration.id, connectionId: reauthConnectionId,
      detail: { session: session.id, grant, ...(reauthConnectionId ? { reauthorizes: reauthConnectionId } : {}) },
    });
    return { session, connectUrl: grant === 'device_code' ? null : `${this.#d.publicUrl}/connect/${token}` };
  }

  /**
   * Device flow (RFC 8628 §3.1–3.2): ask the provider for a device code and the code the person
   * types. The device code is sealed in the vault; Keyway's poller then polls with it.
   */
  async #startDevice(session: ConnectSessionRecord, integration: IntegrationRecord): Promise<Partial<ConnectSessionRecord>> {
    const ctx = await this.#d.integrations.oauthContext(integration, { params: session.params });
    const device = await requestDeviceAuthorization(ctx, session.scopes ?? integration.scopes);
    for (const u of [device.verificationUri, device.verificationUriComplete]) {
      if (u !== null && !/^https?:\/\//i.test(u)) throw new KeywayError('provider_error', 'The provider returned a verification URI that is not a web address.');
    }
    const now = this.#d.clock.now();
    return {
      deviceCodeEnc: await this.#d.vault.encrypt({ orgId: session.orgId, recordId: session.id, field: 'device_code' }, device.deviceCode),
      userCode: device.userCode, verificationUri: device.verificationUri, verificationUriComplete: device.verificationUriComplete,
      pollIntervalS: device.interval, nextPollAt: now + device.interval * 1000, expiresAt: now + device.expiresIn * 1000,
    };
  }

  /** The provider sent the browser back: see `completeAttempt` (callback.ts). */
  completeAttempt(input: { integrationId: string; callbackUrl: URL; cookies: Record<string, string | undefined> }): Promise<ConnectOutcome> {
    return completeAttempt(this.#d, input);
  }

  async getSession(orgId: string, id: string): Promise<ConnectSessionRecord> {
    const s = await this.#d.store.connectSessions.get(orgId, id);
    if (!s) throw new KeywayError('not_found', `No connect session ${id}.`);
    if (s.status === 'pending' && s.expiresAt <= this.#d.clock.now()) return { ...s, status: 'expired' };
    return s;
  }

  /**
   * The browser opened the connect link: bind the attempt to this browser (a cookie), and send it
   * to the provider with PKCE S256, a fresh single-use `state` and, for an OIDC provider asked for
   * `openid`, a `nonce`.
   * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.7 (CSRF, state bound to the user agent)
   * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest (`nonce` in an OpenID request)
   */
  async startAttempt(linkToken: string): Promise<StartedAttempt> {
    const { store, clock, random } = this.#d;
    const session = await store.connectSessions.findByTokenHash(sha256(linkToken));
    if (!session || session.grant !== 'authorization_code') throw new KeywayError('connect_failed', 'unknown_link');
    const now = clock.now();
    // A session completes once: a used, declined, failed or expired link says so.
    const ended = endedProblem(session, now);
    if (ended) throw new KeywayError('connect_failed', ended);
    // Its creator was removed, or may no longer manage the connection: checked again at completion.
    const refusal = await creatorRefusal(this.#d, session);
    if (refusal) {
      await endSession(this.#d, session, { status: 'failed', error: refusal });
      throw new KeywayError('connect_failed', refusal);
    }
    const integration = await this.#d.integrations.get(session.orgId, session.integrationId);
    const ctx = await this.#d.integrations.oauthContext(integration, { params: session.params });
    const def = ctx.provider.definition;
    const state = randomToken(random, 32);
    const binding = randomToken(random, 32);
    const verifier = def.pkce.enabled ? randomToken(random, 32) : null;
    const scopes = session.scopes ?? integration.scopes;
    // A nonce belongs to an OpenID request: without `openid` no ID token comes back to carry it, and strict servers refuse it.
    const nonce = ctx.provider.oidc && scopes.includes('openid') ? randomToken(random, 16) : null;
    const attemptId = newId('connectAttempt', random);
    const redirectUri = this.#d.integrations.redirectUri(integration.id);
    await store.connectAttempts.insert({
      id: attemptId, orgId: session.orgId, sessionId: session.id, integrationId: integration.id,
      stateHash: sha256(state), browserHash: sha256(binding),
      verifierEnc: await this.#d.vault.encrypt({ orgId: session.orgId, recordId: attemptId, field: 'pkce_verifier' }, verifier ?? ''),
      nonce, issuer: ctx.provider.issuer, redirectUri, expiresAt: now + ATTEMPT_TTL_MS, usedAt: null, createdAt: now,
    });
    await store.connectAttempts.purgeExpired(now - ATTEMPT_TTL_MS);
    const request = {
      redirectUri, scopes, state, nonce,
      codeChallenge: verifier ? createHash('sha256').update(verifier).digest('base64url') : null,
    };
    const url = ctx.provider.usePar ? await pushAuthorizationRequest(ctx, request) : buildAuthorizationUrl(ctx, request);
    return {
      redirectTo: url.toString(),
      cookie: { name: `${BINDING_COOKIE_PREFIX}${attemptId.slice(3)}`, value: binding, maxAgeSeconds: ATTEMPT_TTL_MS / 1000 },
    };
  }
}
