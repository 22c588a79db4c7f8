import { KeywayError } from '../core/errors.ts';
import { retryWhileStoreUnavailable } from '../core/retry.ts';
import type { Clock } from '../core/clock.ts';
import type { ConnectionRecord, IntegrationRecord, Lease, Store } from '../store/index.ts';
import { type OAuthContext, type TokenSet, answerRejected, clientCredentialsGrant, providerErrorCode, providerWait, refreshAccessToken, responseLost } from '../oauth/index.ts';
import type { AuditWriter } from '../audit/index.ts';
import { type RefreshPolicy, afterTransientFailure, isExpired, needsRefresh, statusPatch } from './policy.ts';
import type { TokenCrypto } from './token-crypto.ts';
import { tokenFields } from './token-fields.ts';
import type { ConnectionValues } from '../catalog/index.ts';

export interface RefresherDeps {
  store: Store;
  clock: Clock;
  crypto: TokenCrypto;
  audit: AuditWriter;
  policy: RefreshPolicy;
  /** The OAuth context (endpoints, client secret, outbound fetch) for an integration. */
  oauthContext(integration: IntegrationRecord, values?: ConnectionValues): Promise<OAuthContext>;
  /** Unique per process: the lease owner. */
  processId: string;
  /** The lease outlives the provider call's timeout, so tokens are only written while it is held. */
  leaseMs: number;
  pollMs: number;
  onStatusChange?: (before: ConnectionRecord, after: ConnectionRecord) => void;
}

export interface RefreshRequest {
  /** Refresh even if the token is fresh (POST /refresh). */
  force: boolean;
  /** Refresh only if the stored token version is still this one (a 401 on a token already replaced). */
  ifVersion?: number;
  /** Do not wait for another process's refresh: return the connection as stored (background refresh). */
  noWait?: boolean;
}

/**
 * One refresh at a time per connection (DESIGN.md): single-flight inside the process, plus a fenced
 * lease in the store across processes; an in-flight marker is written before the provider call, so
 * a crash after the provider rotated the token is reported instead of retried in a loop.
 */
export class Refresher {
  readonly #d: RefresherDeps;
  readonly #inflight = new Map<string, Promise<ConnectionRecord>>();
  /** Integrations read in the last second: a burst of refreshes reads each once (a change shows within 1 s). */
  readonly #integrations = new Map<string, { rec: IntegrationRecord; at: number }>();
  /** Per connection: no token call before this time (injected clock), as the provider's Retry-After asked. */
  readonly #notBefore = new Map<string, number>();

  constructor(deps: RefresherDeps) {
    this.#d = deps;
  }

  /** The lease owner name of this process. */
  get leaseOwner(): string { return this.#d.processId; }

  /** How long a lease lasts: longer than the provider call's timeout. */
  get leaseMs(): number { return this.#d.leaseMs; }

  /** Returns the connection with a usable token, refreshed if the request calls for it. */
  refresh(conn: ConnectionRecord, req: RefreshRequest): Promise<ConnectionRecord> {
    const running = this.#inflight.get(conn.id);
    if (running) return running;
    const p = this.#run(conn, req).finally(() => this.#inflight.delete(conn.id));
    this.#inflight.set(conn.id, p);
    return p;
  }

  /**
   * Refreshes a connection whose lease the caller already holds (the scheduler's batch claim, which
   * also checked the token version). Callers in this process asking meanwhile join this refresh.
   */
  refreshLeased(row: ConnectionRecord, lease: Lease): Promise<ConnectionRecord> {
    const p = this.#refreshHoldingLease(row, lease).finally(() => this.#inflight.delete(row.id));
    this.#inflight.set(row.id, p);
    return p;
  }

  async #run(initial: ConnectionRecord, req: RefreshRequest): Promise<ConnectionRecord> {
    const { store, clock } = this.#d;
    // Waiting for another holder is bounded by poll count (the injected clock may stand still in tests).
    const maxPolls = Math.ceil((this.#d.leaseMs * 2) / this.#d.pollMs);
    for (let polls = 0; ; polls++) {
      // One round trip takes the lease and reads the row as it stands under it.
      const got = await store.connections.acquireLeaseWithRow(initial.id, this.#d.processId, clock.now(), this.#d.leaseMs);
      if (got) {
        if (got.row.orgId !== initial.orgId) throw new KeywayError('not_found', `Connection ${initial.id} was deleted.`);
        if (!this.#stillNeeded(initial, got.row, req)) {
          await store.connections.finishRefresh(got.row.id, got.lease, clock.now(), {}, { newTokens: false, clearInFlight: false });
          return got.row;
        }
        return this.#refreshHoldingLease(got.row, got.lease);
      }
      const current = await this.#reload(initial);
      // Someone else (another process) holds the lease: wait for its result.
      if (!this.#stillNeeded(initial, current, req) || req.noWait) return current;
      if (polls >= maxPolls) {
        throw new KeywayError('refresh_in_progress', 'Another Keyway process is still refreshing this connection; retry in a few seconds.', { retryAfter: 2 });
      }
      await new Promise((r) => setTimeout(r, this.#d.pollMs));
    }
  }

  async #reload(c: ConnectionRecord): Promise<ConnectionRecord> {
    const fresh = await this.#d.store.connections.get(c.orgId, c.id);
    if (!fresh) throw new KeywayError('not_found', `Connection ${c.id} was deleted.`);
    return fresh;
  }

  #stillNeeded(initial: ConnectionRecord, current: ConnectionRecord, req: RefreshRequest): boolean {
    if (current.status === 'needs_reauth') return false;
    if (current.tokenVersion !== initial.tokenVersion) return false; // refreshed by someone else meanwhile
    if (req.ifVersion !== undefined) return current.tokenVersion === req.ifVersion;
    return req.force || needsRefresh(current, this.#d.clock.now(), this.#d.policy);
  }

  async #refreshHoldingLease(conn: ConnectionRecord, lease: Lease): Promise<ConnectionRecord> {
    const { store, clock, crypto } = this.#d;
    const wait = this.#providerAskedToWait(conn.id);
    if (wait > 0) {
      await this.#finish(conn, lease, {}, false, false);
      if (conn.accessTokenEnc && !isExpired(conn, clock.now())) return conn; // still usable meanwhile
      throw new KeywayError('provider_unavailable', `The provider asked Keyway to wait before refreshing this connection again (Retry-After); retry in ${wait} s.`, { retryAfter: wait });
    }
    const integration = await this.#integration(conn);
    const refreshToken = conn.refreshTokenEnc ? await crypto.open(conn, 'refresh_token', conn.refreshTokenEnc) : null;
    // A client-credentials connection renews by a new grant under the same lease (RFC 6749 §4.4).
    const machine = conn.kind === 'client_credentials';
    if (!refreshToken && !machine) {
      const expired = isExpired(conn, clock.now());
      const patch = expired
        ? { ...statusPatch(conn, 'needs_reauth', 'The access token expired and the provider gave no refresh token. Reconnect to restore access.', clock.now()), updatedAt: clock.now() }
        : {};
      await this.#finish(conn, lease, patch, false, true);
      throw new KeywayError(expired ? 'needs_reauth' : 'invalid_request',
        expired ? 'The access token expired and there is no refresh token. Reconnect it.' : 'This connection has no refresh token; reconnect it to get a new access token.');
    }
    const ctx = await this.#d.oauthContext(integration, { params: conn.params, kept: conn.providerValues });
    // Real time, not the injected clock: how long new tokens may be tried against a database that cannot take them.
    let leaseEnds = 0;
    // Before each provider call the lease is renewed, so it covers the call's whole timeout however
    // long the row waited for its turn (a scheduler's queue, its per-provider pace, a first attempt).
    const renewLease = async (): Promise<void> => {
      leaseEnds = performance.now() + this.#d.leaseMs;
      if (!(await store.connections.markInFlight(conn.id, lease, clock.now(), this.#d.leaseMs))) {
        throw new KeywayError('refresh_in_progress', 'Another Keyway process took this refresh over before the provider call; retry.', { retryAfter: 1 });
      }
    };
    await renewLease();
    let tokens: TokenSet;
    try {
      tokens = machine ? await clientCredentialsGrant(ctx, conn.requestedScopes) : await refreshWithinGrace(ctx, refreshToken ?? '', renewLease);
    } catch (e) {
      if (e instanceof KeywayError && e.code === 'refresh_in_progress') throw e;
      return this.#onFailure(conn, lease, e as KeywayError);
    }
    const now = clock.now();
    const patch: Partial<ConnectionRecord> = {
      accessTokenEnc: await crypto.seal(conn, 'access_token', tokens.accessToken),
      refreshTokenEnc: tokens.refreshToken ? await crypto.seal(conn, 'refresh_token', tokens.refreshToken) : conn.refreshTokenEnc,
      ...tokenFields(ctx.provider.definition, tokens, now, conn),
      lastRefreshedAt: now, refreshFailures: 0,
      ...statusPatch(conn, 'active', null, now), updatedAt: now,
    };
    const written = await this.#keepTokens(conn, lease, patch, leaseEnds);
    this.#d.audit.record({ orgId: conn.orgId, actor: { type: 'system', id: null }, action: 'token.refresh', integrationId: conn.integrationId, connectionId: conn.id, detail: { rotated: tokens.refreshToken !== null, written } });
    if (!written) {
      throw new KeywayError('refresh_in_progress', 'The refresh took longer than its lease; the new tokens were not stored. Retry.', { retryAfter: 1 });
    }
    // What was just written under the lease: no need to read it back.
    return { ...conn, ...patch, tokenVersion: conn.tokenVersion + 1 };
  }

  /** Drops a cached integration (it was edited or deleted in this process). */
  forgetIntegration(integrationId: string): void {
    this.#integrations.delete(integrationId);
  }

  async #integration(conn: ConnectionRecord): Promise<IntegrationRecord> {
    const hit = this.#integrations.get(conn.integrationId);
    const tick = performance.now();
    if (hit && hit.rec.orgId === conn.orgId && tick - hit.at < 1000) return hit.rec;
    const rec = await this.#d.store.integrations.get(conn.orgId, conn.integrationId);
    if (!rec) {
      this.#integrations.delete(conn.integrationId);
      throw new KeywayError('not_found', `The integration of connection ${conn.id} no longer exists.`);
    }
    if (this.#integrations.size > 10_000) this.#integrations.clear();
    this.#integrations.set(conn.integrationId, { rec, at: tick });
    return rec;
  }

  /** Seconds left of the wait the provider last asked for on this connection; 0 when none. */
  #providerAskedToWait(id: string): number {
    const until = this.#notBefore.get(id);
    if (until === undefined) return 0;
    const left = Math.ceil((until - this.#d.clock.now()) / 1000);
    if (left <= 0) this.#notBefore.delete(id);
    return Math.max(0, left);
  }

  async #onFailure(conn: ConnectionRecord, lease: Lease, err: KeywayError): Promise<ConnectionRecord> {
    const { clock } = this.#d;
    const now = clock.now();
    const asked = providerWait(err);
    if (asked !== undefined) {
      if (this.#notBefore.size > 10_000) this.#notBefore.clear();
      this.#notBefore.set(conn.id, now + asked * 1000);
    }
    const providerError = providerErrorCode(err);
    const audit = (outcome: string) => this.#d.audit.record({ orgId: conn.orgId, actor: { type: 'system', id: null }, action: 'token.refresh', outcome: 'error', integrationId: conn.integrationId, connectionId: conn.id, detail: { result: outcome, providerError: providerError ?? null, code: err.code } });
    if (providerError === 'invalid_grant') {
      // Another process may have rotated the token meanwhile: then the stored one is used.
      const latest = await this.#reload(conn);
      if (latest.tokenVersion !== conn.tokenVersion) {
        await this.#finish(conn, lease, {}, false, true);
        return latest;
      }
      const reason = lease.interruptedAt !== null
        ? `A refresh was interrupted (its answer was lost or could not be used: the connection dropped, the call timed out, the answer was malformed or a Keyway process stopped); the provider has since rejected the stored refresh token, probably because it issued a new one that was never stored. Reconnect to restore access.`
        : `The provider rejected the refresh token (invalid_grant${typeof err.details?.['providerErrorDescription'] === 'string' ? `: ${err.details['providerErrorDescription']}` : ''}). It was revoked or expired. Reconnect to restore access.`;
      await this.#finish(conn, lease, { ...statusPatch(conn, 'needs_reauth', reason, now), updatedAt: now }, false, true);
      audit('needs_reauth');
      throw new KeywayError('needs_reauth', `${reason}`, { details: { connection: conn.id } });
    }
    const transient = err.code === 'provider_unavailable';
    const rejected = answerRejected(err);
    const reason = transient
      ? `Refreshing failed: the provider was unavailable (${err.message}). Keyway keeps retrying; the current token is used while it is valid.`
      : rejected
        ? `Refreshing failed: ${err.message} The provider may have replaced the refresh token in that answer; if the next refresh is refused, reconnect.`
        : `Refreshing failed: ${err.message} Check the integration's client id and secret.`;
    // A lost or unusable answer leaves the provider's outcome unknown: keep the in-flight marker. So does any
    // failure after an earlier lost answer (the lease found the marker): that one may have rotated.
    const clearInFlight = !responseLost(err) && !rejected && lease.interruptedAt === null;
    await this.#finish(conn, lease, afterTransientFailure(conn, reason, now, this.#d.policy), false, clearInFlight);
    audit(transient ? 'provider_unavailable' : 'provider_error');
    const latest = await this.#reload(conn);
    if (latest.accessTokenEnc && !isExpired(latest, clock.now())) return latest; // still usable
    throw new KeywayError('provider_unavailable', transient
      ? `The provider is unavailable and the access token has expired; retry ${asked === undefined ? 'shortly' : `in ${asked} s, as the provider asked`}.`
      : `The token could not be refreshed: ${err.message}`, { retryAfter: asked ?? err.retryAfter ?? 5, details: providerError ? { providerError } : undefined, cause: err });
  }

  /**
   * `#finish` with tokens the provider has just issued. It may already have spent the old refresh
   * token, so tokens the database cannot take now (`store_unavailable`: a restart, a lock held by
   * another process, a full disk) are tried again until the lease ends rather than lost with the
   * connection. Safe to repeat: the write lands only while this lease is still the row's.
   */
  #keepTokens(conn: ConnectionRecord, lease: Lease, patch: Partial<ConnectionRecord>, leaseEnds: number): Promise<boolean> {
    return retryWhileStoreUnavailable(() => this.#finish(conn, lease, patch, true, true), { until: () => leaseEnds, firstMs: 100, maxMs: 2000 });
  }

  async #finish(conn: ConnectionRecord, lease: Lease, patch: Partial<ConnectionRecord>, newTokens: boolean, clearInFlight: boolean): Promise<boolean> {
    const ok = await this.#d.store.connections.finishRefresh(conn.id, lease, this.#d.clock.now(), patch, { newTokens, clearInFlight });
    if (ok && patch.status && patch.status !== conn.status && this.#d.onStatusChange) {
      this.#d.onStatusChange(conn, { ...conn, ...patch });
    }
    return ok;
  }
}

/**
 * A refresh whose response was lost (connection reset, timeout) may already have rotated the token
 * at the provider. Where the definition gives a reuse grace (Xero: 30 minutes), the provider still
 * accepts the same refresh token, so the call is repeated once at once and its answer stored as the
 * latest. Without a grace the in-flight marker reports the outcome instead (DESIGN.md).
 * @see https://developer.xero.com/documentation/guides/oauth2/auth-flow/#refreshing-access-and-refresh-tokens
 */
async function refreshWithinGrace(ctx: OAuthContext, refreshToken: string, renewLease: () => Promise<void>): Promise<TokenSet> {
  try {
    return await refreshAccessToken(ctx, refreshToken);
  } catch (e) {
    if (!(ctx.provider.definition.refresh.reuseGraceSeconds ?? 0) || !responseLost(e)) throw e;
    await renewLease();
    return refreshAccessToken(ctx, refreshToken);
  }
}
