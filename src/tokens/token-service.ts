import { KeywayError } from '../core/errors.ts';
import type { Clock } from '../core/clock.ts';
import type { ConnectionRecord, Store } from '../store/index.ts';
import type { Actor, AuditWriter } from '../audit/index.ts';
import { type RefreshPolicy, isExpired, needsRefresh, statusPatch } from './policy.ts';
import type { Refresher } from './refresher.ts';
import type { TokenCrypto } from './token-crypto.ts';

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
}

/** Fresh tokens on demand: the refresh-ahead rule, status checks and the audit of every read. */
export class TokenService {
  readonly #d: TokenServiceDeps;
  constructor(deps: TokenServiceDeps) {
    this.#d = deps;
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
    let c = await this.#load(orgId, id);
    this.#refuseIfDead(c);
    const now = this.#d.clock.now();
    if (needsRefresh(c, now, this.#d.policy)) {
      if (c.refreshTokenEnc) c = await this.#d.refresher.refresh(c, { force: false });
      else if (isExpired(c, now)) await this.#markDead(c, 'The access token expired and the provider gave no refresh token. Reconnect to restore access.');
    }
    this.#refuseIfDead(c);
    if (!c.accessTokenEnc) throw new KeywayError('needs_reauth', 'This connection holds no access token. Reconnect it.');
    const token = await this.#present(c);
    if (opts.audit !== false) {
      this.#d.audit.record({ orgId, actor, action: 'token.read', integrationId: c.integrationId, connectionId: c.id });
    }
    return token;
  }

  /** POST /refresh: refresh now, whatever the expiry. */
  async forceRefresh(orgId: string, id: string, actor: Actor): Promise<ConnectionRecord> {
    const c = await this.#load(orgId, id);
    if (!c.refreshTokenEnc) {
      throw new KeywayError('invalid_request', 'This connection has no refresh token, so it cannot be refreshed; reconnect it to get a new token.');
    }
    const out = await this.#d.refresher.refresh(c, { force: true });
    this.#d.audit.record({ orgId, actor, action: 'token.refresh', integrationId: c.integrationId, connectionId: c.id, detail: { requested: true } });
    return out;
  }

  /** After a provider 401: refresh only if the token that got it is still the current one. */
  async refreshAfterUnauthorized(orgId: string, id: string, version: number): Promise<AccessToken> {
    const c = await this.#load(orgId, id);
    this.#refuseIfDead(c);
    if (c.tokenVersion !== version) return this.#present(c);
    if (!c.refreshTokenEnc) {
      await this.#markDead(c, 'The provider rejected the access token (401) and there is no refresh token. Reconnect to restore access.');
    }
    const out = await this.#d.refresher.refresh(c, { force: true, ifVersion: version });
    this.#refuseIfDead(out);
    return this.#present(out);
  }

  async #present(c: ConnectionRecord): Promise<AccessToken> {
    if (!c.accessTokenEnc) throw new KeywayError('needs_reauth', 'This connection holds no access token. Reconnect it.');
    return {
      accessToken: await this.#d.crypto.open(c, 'access_token', c.accessTokenEnc),
      tokenType: c.tokenType ?? 'bearer',
      expiresAt: c.expiresAt,
      scopes: c.grantedScopes,
      version: c.tokenVersion,
    };
  }

  /** Turns the connection red and throws needs_reauth. */
  async #markDead(c: ConnectionRecord, reason: string): Promise<never> {
    const now = this.#d.clock.now();
    await this.#d.store.connections.update(c.orgId, c.id, { ...statusPatch(c, 'needs_reauth', reason, now), updatedAt: now });
    throw new KeywayError('needs_reauth', reason, { details: { connection: c.id } });
  }
}
