import { KeywayError } from '../core/errors.ts';
import type { Clock } from '../core/clock.ts';
import type { ConnectionRecord, Store } from '../store/index.ts';
import type { Actor, AuditEvent, AuditWriter } from '../audit/index.ts';
import { type RefreshPolicy, deadReason, isExpired, needsRefresh, statusPatch } from './policy.ts';
import type { Refresher } from './refresher.ts';
import type { TokenCrypto } from './token-crypto.ts';
import { CACHE_TRUST_MS, TokenCache, type TokenCacheEntry } from './token-cache.ts';

export interface AccessToken {
  accessToken: string;
  tokenType: string;
  expiresAt: number | null;
  scopes: string[];
  /** Bumped on every token change; the gateway uses it to refresh only a token that is still current. */
  version: number;
}

export interface TokenServiceDeps {
  store: Store;
  clock: Clock;
  crypto: TokenCrypto;
  audit: AuditWriter;
  refresher: Refresher;
  policy: RefreshPolicy;
  /** Called when a read turns a connection needs_reauth (webhooks); the refresher reports its own. */
  onStatusChange?: (before: ConnectionRecord, after: ConnectionRecord) => void;
  /** Decrypted tokens by connection and token version (default: a new cache). */
  cache?: TokenCache;
  /**
   * How long a cached connection is served without a check; `CacheCheck` (cache-check.ts) re-checks
   * entries well within it, so a change made by another process (delete, re-auth, refresh) is
   * seen in time. Default CACHE_TRUST_MS (1000 ms).
   */
  revalidateMs?: number;
  /** Elapsed-time source for `revalidateMs`; real time even when tests stop the clock. */
  monotonic?: () => number;
}

export interface UseOptions {
  /** False to not write the read's audit entry (the caller audits the call itself). */
  audit?: boolean;
  /** Whether the caller may use this connection, asked of the row before anything else: `not_found` when not. */
  mayUse?: (c: ConnectionRecord) => boolean;
}

/** A usable token with the connection row it belongs to. */
export type TokenInUse = TokenCacheEntry;

/** Connections holding a credential a person typed (no OAuth): nothing to refresh. */
const isStatic = (c: Pick<ConnectionRecord, 'kind'>): boolean => c.kind === 'api_key' || c.kind === 'basic';

/** Fresh tokens on demand: the refresh-ahead rule, status checks and the audit of every read. */
export class TokenService {
  readonly #d: TokenServiceDeps;
  readonly #cache: TokenCache;
  readonly #revalidateMs: number;
  readonly #monotonic: () => number;
  constructor(deps: TokenServiceDeps) {
    this.#d = deps;
    this.#cache = deps.cache ?? new TokenCache();
    this.#revalidateMs = deps.revalidateMs ?? CACHE_TRUST_MS;
    this.#monotonic = deps.monotonic ?? (() => performance.now());
  }

  /**
   * The cached row and token of a connection when they can be served as they are: checked within
   * `revalidateMs` and not due for a refresh. Synchronous, so a hot path can take it without a
   * store read; undefined means "go through `use`".
   */
  cached(orgId: string, id: string): TokenInUse | undefined {
    const hit = this.#cache.get(id);
    if (hit === undefined || hit.connection.orgId !== orgId || this.#monotonic() - hit.checkedAt >= this.#revalidateMs) return undefined;
    return needsRefresh(hit.connection, this.#d.clock.now(), this.#d.policy) ? undefined : hit;
  }

  /**
   * The audit entry of a token handed out (`use` writes it; a hot path serving `cached` calls it).
   * Reads repeat many times a second for a busy caller: gathered into one entry (count and times),
   * and the event of the entry's last read is recorded again while the reader is the same.
   */
  auditRead(t: TokenInUse, actor: Actor): void {
    const c = t.connection;
    const last = t.readEvent;
    if (last !== null && last.actor.id === actor.id && last.actor.type === actor.type && last.actor.memberId === actor.memberId
      && last.orgId === c.orgId && last.connectionId === c.id && last.integrationId === c.integrationId) {
      return this.#d.audit.recordRepeated(last);
    }
    const event: AuditEvent = { orgId: c.orgId, actor, action: 'token.read', integrationId: c.integrationId, connectionId: c.id };
    t.readEvent = event;
    this.#d.audit.recordRepeated(event);
  }

  /** Drops the cached token of a connection (deleted, re-authenticated, tokens replaced). */
  invalidate(connectionId: string): void {
    this.#cache.invalidate(connectionId);
  }

  async #load(orgId: string, id: string): Promise<ConnectionRecord> {
    const c = await this.#d.store.connections.get(orgId, id);
    if (!c) throw new KeywayError('not_found', `No connection ${id}.`);
    return c;
  }

  #refuseIfDead(c: ConnectionRecord): void {
    if (c.status === 'needs_reauth') {
      throw new KeywayError('needs_reauth', c.statusReason ?? 'This connection must be reconnected.', { details: { connection: c.id } });
    }
  }

  /** A usable access token, refreshed first when the refresh-ahead rule says so. */
  async getFreshToken(orgId: string, id: string, actor: Actor, opts: { audit?: boolean } = {}): Promise<AccessToken> {
    return (await this.use(orgId, id, actor, opts)).token;
  }

  /**
   * `getFreshToken` with the connection row. O(1) on the hot path: a cached entry checked within
   * `revalidateMs` whose token needs no refresh is served without a store read or a decrypt.
   */
  async use(orgId: string, id: string, actor: Actor, opts: UseOptions = {}): Promise<TokenInUse> {
    const hit = this.cached(orgId, id);
    if (hit !== undefined) {
      if (opts.mayUse && !opts.mayUse(hit.connection)) throw new KeywayError('not_found', `No connection ${id}.`);
      if (opts.audit !== false) this.auditRead(hit, actor);
      return hit;
    }
    const row = await this.#load(orgId, id);
    // Before anything is done with it (a status review, a refresh at the provider): a caller who may
    // not use the connection learns nothing of its state and sets nothing in motion.
    if (opts.mayUse && !opts.mayUse(row)) throw new KeywayError('not_found', `No connection ${id}.`);
    let c = await this.reviewStatus(row);
    this.#refuseIfDead(c);
    const now = this.#d.clock.now();
    if (needsRefresh(c, now, this.#d.policy)) {
      // A client-credentials token is renewed by a new grant, not a refresh token (RFC 6749 §4.4.3).
      if (c.refreshTokenEnc || c.kind === 'client_credentials') c = await this.#refresh(c, { force: false });
      else if (isExpired(c, now)) await this.#markDead(c, 'The access token expired and the provider gave no refresh token. Reconnect to restore access.');
    }
    this.#refuseIfDead(c);
    if (!c.accessTokenEnc) throw new KeywayError('needs_reauth', 'This connection holds no access token. Reconnect it.');
    const entry = await this.#entry(c);
    if (opts.audit !== false) this.auditRead(entry, actor);
    return entry;
  }

  /** POST /refresh: refresh now, whatever the expiry. */
  async forceRefresh(orgId: string, id: string, actor: Actor): Promise<ConnectionRecord> {
    const c = await this.#load(orgId, id);
    // A connection the provider no longer honours cannot be refreshed: say so, as /token and the gateway do.
    this.#refuseIfDead(c);
    if (isStatic(c)) throw new KeywayError('invalid_request', 'This connection holds an API key or password, which cannot be refreshed.');
    if (!c.refreshTokenEnc && c.kind !== 'client_credentials') {
      throw new KeywayError('invalid_request', 'This connection has no refresh token, so it cannot be refreshed; reconnect it to get a new token.');
    }
    const out = await this.#refresh(c, { force: true });
    this.#cache.invalidate(id);
    this.#refuseIfDead(out); // turned red by another process meanwhile: nothing was refreshed
    if (out.tokenVersion === c.tokenVersion) {
      // The provider failed and the current token still works, so the refresher kept it: no new token.
      throw new KeywayError('provider_unavailable', `The token was not refreshed: the provider answered with an error${out.statusReason ? ` (${out.statusReason})` : ''}. The current token is still used while it is valid; retry later.`, { retryAfter: 5 });
    }
    this.#d.audit.record({ orgId, actor, action: 'token.refresh', integrationId: c.integrationId, connectionId: c.id, detail: { requested: true } });
    return out;
  }

  /** After a provider 401: refresh only if the token that got it is still the current one. */
  async refreshAfterUnauthorized(orgId: string, id: string, version: number): Promise<AccessToken> {
    const c = await this.#load(orgId, id);
    this.#refuseIfDead(c);
    if (c.tokenVersion !== version) return this.#present(c);
    if (isStatic(c)) throw new KeywayError('invalid_request', 'The provider refused the stored API key or password (401); it cannot be refreshed. Check it at the provider.');
    if (!c.refreshTokenEnc && c.kind !== 'client_credentials') {
      await this.#markDead(c, 'The provider rejected the access token (401) and there is no refresh token. Reconnect to restore access.');
    }
    const out = await this.#refresh(c, { force: true, ifVersion: version });
    this.#refuseIfDead(out);
    return this.#present(out);
  }

  /**
   * Applies a status change that is already due from what is stored (an expired refresh token, or
   * an expired token with no refresh token): the connection turns needs_reauth before a call fails.
   * Returns the row as it now stands. Used on reads, lists and token calls.
   */
  async reviewStatus(c: ConnectionRecord): Promise<ConnectionRecord> {
    const now = this.#d.clock.now();
    const reason = c.status === 'needs_reauth' ? null : deadReason(c, now);
    if (reason === null) return c;
    const patch = { ...statusPatch(c, 'needs_reauth', reason, now), updatedAt: now };
    this.#cache.invalidate(c.id);
    // Only if no new tokens arrived since the row was read (a re-authentication racing this read).
    if (await this.#d.store.connections.updateIfVersion(c.orgId, c.id, c.tokenVersion, patch) === 0) return (await this.#d.store.connections.get(c.orgId, c.id)) ?? c;
    const after = { ...c, ...patch };
    this.#d.onStatusChange?.(c, after);
    return after;
  }

  /**
   * For the background scheduler: turns needs_reauth every connection whose refresh token has
   * expired (or whose token has, with no refresh token), at most `limit` per call. Returns how many changed.
   */
  async sweepNeedsReauth(limit = 500): Promise<number> {
    const due = await this.#d.store.connections.listDueForReauth(this.#d.clock.now(), limit);
    for (const c of due) await this.reviewStatus(c);
    return due.length;
  }

  /** The refresher; a failed refresh drops the cached token, so the next call reads the row again. */
  async #refresh(c: ConnectionRecord, req: { force: boolean; ifVersion?: number }): Promise<ConnectionRecord> {
    try {
      return await this.#d.refresher.refresh(c, req);
    } catch (e) {
      this.#cache.invalidate(c.id);
      throw e;
    }
  }

  async #present(c: ConnectionRecord): Promise<AccessToken> {
    return (await this.#entry(c)).token;
  }

  /** The row with its decrypted token, decrypting only when the cache lacks this token version. */
  async #entry(c: ConnectionRecord): Promise<TokenInUse> {
    if (!c.accessTokenEnc) throw new KeywayError('needs_reauth', 'This connection holds no access token. Reconnect it.');
    const accessToken = this.#cache.tokenOf(c)?.accessToken ?? await this.#d.crypto.open(c, 'access_token', c.accessTokenEnc);
    const token: AccessToken = {
      accessToken,
      tokenType: c.tokenType ?? 'bearer',
      expiresAt: c.expiresAt,
      scopes: c.grantedScopes,
      version: c.tokenVersion,
    };
    return this.#cache.set(c, token, this.#monotonic());
  }

  /** Turns the connection red and throws needs_reauth. */
  async #markDead(c: ConnectionRecord, reason: string): Promise<never> {
    const now = this.#d.clock.now();
    this.#cache.invalidate(c.id);
    const patch = { ...statusPatch(c, 'needs_reauth', reason, now), updatedAt: now };
    await this.#d.store.connections.update(c.orgId, c.id, patch);
    if (c.status !== 'needs_reauth') this.#d.onStatusChange?.(c, { ...c, ...patch });
    throw new KeywayError('needs_reauth', reason, { details: { connection: c.id } });
  }
}
