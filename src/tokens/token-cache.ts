import { type ConnectionRecord, connectionStamp } from '../store/index.ts';
import type { AuditEvent } from '../audit/index.ts';

/** A decrypted access token as handed out; `version` is the connection's `tokenVersion`. */
export interface CachedAccessToken {
  accessToken: string;
  tokenType: string;
  expiresAt: number | null;
  scopes: string[];
  version: number;
}

/** How long a cached row is served since its last check (TokenService), and so what CacheCheck keeps it within. */
export const CACHE_TRUST_MS = 1000;

export interface TokenCacheEntry {
  /** The row as last read from the store. */
  connection: ConnectionRecord;
  /** Its access token, decrypted; always of `connection.tokenVersion`. */
  token: CachedAccessToken;
  /** Monotonic time of the last store read. */
  checkedAt: number;
  /** `connectionStamp(connection)`, made once: what the periodic re-check compares. */
  readonly stamp: string;
  /** The audit event of this token's last read, recorded again while the next reader is the same (`TokenService.auditRead`). */
  readEvent: AuditEvent | null;
}

/**
 * Decrypted access tokens by connection, each bound to the token version it was decrypted from, so
 * the gateway and `/token` decrypt once per token instead of once per call. An entry is replaced
 * when the version changes (refresh, re-auth) and dropped on `invalidate` (delete, re-auth, a
 * failed refresh). At most `max` entries; the least recently stored goes first.
 */
export class TokenCache {
  readonly #entries = new Map<string, TokenCacheEntry>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  get(connectionId: string): TokenCacheEntry | undefined {
    return this.#entries.get(connectionId);
  }

  /** The decrypted token for this row if the cache holds its exact version. */
  tokenOf(c: ConnectionRecord): CachedAccessToken | undefined {
    const e = this.#entries.get(c.id);
    return e !== undefined && e.token.version === c.tokenVersion && e.connection.accessTokenEnc === c.accessTokenEnc ? e.token : undefined;
  }

  set(connection: ConnectionRecord, token: CachedAccessToken, checkedAt: number): TokenCacheEntry {
    const entry: TokenCacheEntry = { connection, token, checkedAt, stamp: connectionStamp(connection), readEvent: null };
    this.#entries.delete(connection.id);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(connection.id, entry);
    return entry;
  }

  /** Every entry, oldest stored first. */
  entries(): IterableIterator<TokenCacheEntry> {
    return this.#entries.values();
  }

  invalidate(connectionId: string): void {
    this.#entries.delete(connectionId);
  }

  get size(): number {
    return this.#entries.size;
  }
}
