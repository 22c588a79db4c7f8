import { CACHE_TRUST_MS, type TokenCache, type TokenCacheEntry } from './token-cache.ts';

/**
 * The ids among `ids` whose stamp in the store (`connections.stamps`) is no longer `stamps[i]`:
 * the row changed, or it was deleted.
 */
export type StampCompare = (ids: string[], stamps: string[]) => Promise<string[]>;

export interface CacheCheckOptions {
  cache: TokenCache;
  /** Compared with the store's `connections.stamps`, by the audit thread (off the request thread) or here. */
  changed: StampCompare;
  /** The token service's `revalidateMs`: entries older than this are not served. Default CACHE_TRUST_MS. */
  revalidateMs?: number;
  /** Elapsed-time source (real time even when tests stop the clock). */
  monotonic?: () => number;
  /** A pass failed (the store unreachable): entries then age out and calls read their rows themselves. */
  onError?: (e: unknown) => void;
  /** A pass succeeded. */
  onOk?: () => void;
}

/** Stamps read in one query: a bounded `IN (…)` list. */
const CHUNK = 500;

/**
 * Keeps the token cache's rows checked without a full read per row: every `revalidateMs / 4`, the
 * entries last checked at least `revalidateMs / 2` ago are compared with the store, one narrow
 * query per 500 (`connections.stamps`) against the stamp each entry made once; only the ids that
 * no longer match come back (usually none). A row changed or
 * deleted elsewhere drops its entry; an unchanged one counts as checked. So a change made by
 * another process is seen within about 0.75 × `revalidateMs`, and the hot path finds its entry
 * checked and reads nothing; should this loop fall behind, calls read their rows as before.
 */
export class CacheCheck {
  readonly #o: CacheCheckOptions;
  readonly #revalidateMs: number;
  readonly #monotonic: () => number;
  #timer: NodeJS.Timeout | null = null;
  #pass: Promise<void> | null = null;

  constructor(o: CacheCheckOptions) {
    this.#o = o;
    this.#revalidateMs = o.revalidateMs ?? CACHE_TRUST_MS;
    this.#monotonic = o.monotonic ?? (() => performance.now());
  }

  start(): void {
    if (this.#timer) return;
    const loop = (): void => {
      this.#timer = setTimeout(() => {
        this.#pass = this.runOnce().then(() => this.#o.onOk?.(), (e: unknown) => this.#o.onError?.(e))
          .finally(() => { this.#pass = null; if (this.#timer) loop(); });
      }, this.#revalidateMs / 4);
      this.#timer.unref();
    };
    loop();
  }

  /** Stops the loop; resolves once a pass under way has finished. */
  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#pass;
  }

  /** One pass. Returns how many entries were dropped. */
  async runOnce(): Promise<number> {
    const { cache, changed: compare } = this.#o;
    const tick = this.#monotonic();
    const due: TokenCacheEntry[] = [];
    for (const e of cache.entries()) if (tick - e.checkedAt >= this.#revalidateMs / 2) due.push(e);
    let dropped = 0;
    for (let i = 0; i < due.length; i += CHUNK) {
      const chunk = due.slice(i, i + CHUNK);
      const ids: string[] = [];
      const stamps: string[] = [];
      for (const e of chunk) {
        ids.push(e.connection.id);
        stamps.push(e.stamp);
      }
      const changed = await compare(ids, stamps);
      const gone = changed.length === 0 ? null : new Set(changed);
      for (const e of chunk) {
        if (cache.get(e.connection.id) !== e) continue; // replaced meanwhile: the new entry is newer
        if (gone === null || !gone.has(e.connection.id)) e.checkedAt = tick;
        else { cache.invalidate(e.connection.id); dropped++; }
      }
    }
    return dropped;
  }
}
