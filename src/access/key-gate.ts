import { type Clock, iso } from '../core/clock.ts';
import { KeywayError } from '../core/errors.ts';
import type { ApiKeyRecord, Store } from '../store/index.ts';
import { type Principal, hashKey, isApiKeyShaped } from './api-keys.ts';
import { RateLimiter } from './rate-limit.ts';

export interface ApiKeyGateOptions {
  store: Store;
  /** Wall-clock time: the rate limit and `lastUsedAt`. */
  clock: Clock;
  /** Requests per minute for keys without their own limit; 0 means none. */
  defaultRateLimitPerMinute: number;
  /**
   * How long a checked key is trusted before its row is read again. A key revoked anywhere (the
   * API of another process, the CLI writing the database) is refused at most this long after.
   * Default 500 ms: "within one second" with room to spare.
   */
  revalidateMs?: number;
  /** Elapsed-time source for `revalidateMs` (real time even when tests stop the clock). */
  monotonic?: () => number;
  /** How often `lastUsedAt` is written for a key in use. Default 60 s. */
  touchEveryMs?: number;
  onError: (e: unknown) => void;
}

interface Checked {
  principal: Principal;
  record: ApiKeyRecord;
  checkedAt: number;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function noKey(): KeywayError {
  return new KeywayError('unauthorized', 'Send an API key as "Authorization: Bearer kw_…". Create one with `npx keyway keys create --name NAME`.');
}

function notAKey(): KeywayError {
  return new KeywayError('unauthorized', 'This is not a Keyway API key (one is kw_ and 43 more characters). Create one with `npx keyway keys create --name NAME`.');
}

const MAX_ENTRIES = 10_000;

/**
 * The longest Authorization header remembered. `Bearer kw_…` is 53 characters; a longer header
 * (extra spaces) still works but is parsed and hashed each time, so what is held stays small.
 */
const MAX_REMEMBERED_HEADER = 128;

/**
 * API-key authentication on the hot path: a checked key is kept in memory (by its hash) and its row
 * is read again after `revalidateMs`, so a call costs one SHA-256 and a map lookup, and a
 * revocation — from this process, another one, or the CLI — still takes effect within a second.
 * Then the key's rate limit is applied.
 */
export class ApiKeyGate {
  readonly #o: ApiKeyGateOptions;
  readonly #revalidateMs: number;
  readonly #monotonic: () => number;
  readonly #byHash = new Map<string, Checked>();
  readonly #hashes = new Map<string, string>();
  readonly #limiter = new RateLimiter();

  constructor(options: ApiKeyGateOptions) {
    this.#o = options;
    this.#revalidateMs = options.revalidateMs ?? 500;
    this.#monotonic = options.monotonic ?? (() => performance.now());
  }

  /**
   * Resolves `Authorization: Bearer kw_…` to its principal, or throws unauthorized / rate_limited.
   * `counted: false` checks the key without taking from its rate limit: for a call already counted
   * (an MCP tool's call through the gateway, counted as the /mcp request).
   */
  async authenticate(authorization: string | undefined, opts: { counted?: boolean } = {}): Promise<Principal> {
    const hash = this.#hashOf(authorization);
    const fresh = this.#fresh(hash);
    if (fresh !== undefined) return this.#admit(fresh, opts.counted ?? true);
    const entry = await this.#check(hash, this.#monotonic());
    this.#remember(authorization, hash); // only now: the key exists
    return this.#admit(entry, opts.counted ?? true);
  }

  /**
   * `authenticate` answered from memory when the key was checked within `revalidateMs` (rate limit
   * applied); undefined when its row must be read (then call `authenticate`). Synchronous, for hot paths.
   */
  cached(authorization: string | undefined, opts: { counted?: boolean } = {}): Principal | undefined {
    const entry = this.#fresh(this.#hashOf(authorization));
    return entry === undefined ? undefined : this.#admit(entry, opts.counted ?? true);
  }

  /** What the gate holds: headers remembered plus keys checked. Only keys that exist are held. */
  get size(): number {
    return this.#hashes.size + this.#byHash.size;
  }

  /** The key's entry when it was checked within `revalidateMs` and has not expired since. */
  #fresh(hash: string): Checked | undefined {
    const entry = this.#byHash.get(hash);
    if (!entry || this.#monotonic() - entry.checkedAt >= this.#revalidateMs) return undefined;
    // A key that expires is refused from that moment, not at its next check (`authenticate` says why).
    if (entry.record.expiresAt !== null && this.#o.clock.now() >= entry.record.expiresAt) return undefined;
    return entry;
  }

  /**
   * The key's SHA-256: remembered by header for the keys that exist (`#remember`), since a key is
   * sent with every call and hashing it each time cost more than the rest of the check. Whether the
   * key is still valid is read from the store as before. A header that cannot hold a Keyway key is
   * refused before anything is hashed or kept.
   */
  #hashOf(authorization: string | undefined): string {
    if (authorization === undefined) throw noKey();
    // Remembered by the whole header as sent: a caller repeats it exactly, so a hit needs no parsing.
    const known = this.#hashes.get(authorization);
    if (known !== undefined) return known;
    const key = BEARER.exec(authorization)?.[1];
    if (!key) throw noKey();
    if (!isApiKeyShaped(key)) throw notAKey();
    return hashKey(key);
  }

  /** Remembers a checked key's header (short ones only), so its next call skips parsing and hashing. */
  #remember(authorization: string | undefined, hash: string): void {
    if (authorization === undefined || authorization.length > MAX_REMEMBERED_HEADER || this.#hashes.has(authorization)) return;
    if (this.#hashes.size >= MAX_ENTRIES) this.#hashes.clear();
    this.#hashes.set(authorization, hash);
  }

  #admit(entry: Checked, counted: boolean): Principal {
    const { record } = entry;
    const limit = record.rateLimitPerMinute ?? this.#o.defaultRateLimitPerMinute;
    if (limit === 0 || !counted) return entry.principal;
    const decision = this.#limiter.take(record.id, limit, this.#o.clock.now());
    if (!decision.allowed) {
      throw new KeywayError('rate_limited', `This API key made more than ${limit} requests in a minute; retry after ${decision.retryAfterSeconds} s.`, { retryAfter: decision.retryAfterSeconds });
    }
    return entry.principal;
  }

  /** Drops a key at once (revoked or changed in this process). */
  forget(keyId: string): void {
    for (const [hash, e] of this.#byHash) {
      if (e.record.id === keyId) {
        this.#byHash.delete(hash);
        for (const [header, h] of this.#hashes) if (h === hash) this.#hashes.delete(header);
      }
    }
    this.#limiter.forget(keyId);
  }

  async #check(hash: string, tick: number): Promise<Checked> {
    const rec = await this.#o.store.apiKeys.findByHash(hash);
    if (!rec || rec.revokedAt !== null) {
      this.#byHash.delete(hash);
      throw new KeywayError('unauthorized', 'This API key is unknown or revoked. Create a new one with `npx keyway keys create --name NAME`.');
    }
    if (rec.expiresAt !== null && this.#o.clock.now() >= rec.expiresAt) {
      this.#byHash.delete(hash);
      throw new KeywayError('unauthorized', `This API key expired at ${iso(rec.expiresAt)}. Create a new one with \`npx keyway keys create --name NAME\` (or in the dashboard, under API keys).`);
    }
    const entry: Checked = {
      principal: { orgId: rec.orgId, memberId: rec.memberId, keyId: rec.id, scope: rec.scope },
      record: rec, checkedAt: tick,
    };
    this.#byHash.delete(hash); // re-inserted last: the map's order is the order of last check
    if (this.#byHash.size >= MAX_ENTRIES) {
      const oldest = this.#byHash.keys().next();
      if (oldest.done !== true) this.#byHash.delete(oldest.value);
    }
    this.#byHash.set(hash, entry);
    this.#touch(rec);
    return entry;
  }

  /** `lastUsedAt`, written at most once a minute per key, off the request path. */
  #touch(rec: ApiKeyRecord): void {
    const now = this.#o.clock.now();
    if (rec.lastUsedAt !== null && now - rec.lastUsedAt < (this.#o.touchEveryMs ?? 60_000)) return;
    this.#o.store.apiKeys.touch(rec.id, now).catch(this.#o.onError);
  }
}
