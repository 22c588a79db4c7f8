/**
 * Requests per minute per API key, as a token bucket: a key may spend its whole minute at once
 * (a burst of `limit` requests) and then gets `limit / 60` requests back every second. Unlike a
 * fixed one-minute window, this never allows twice the limit across a window boundary.
 *
 * In memory, per process: with several Keyway processes each one enforces the limit on its own.
 */
export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until one request is allowed again (0 when allowed). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
  limit: number;
}

const ALLOWED: RateDecision = { allowed: true, retryAfterSeconds: 0 };

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #maxKeys: number;

  constructor(maxKeys = 100_000) {
    this.#maxKeys = maxKeys;
  }

  /** Takes one request from `key`'s bucket. `limit` 0 means no limit. `now` in milliseconds. */
  take(key: string, limit: number, now: number): RateDecision {
    if (limit <= 0) return ALLOWED;
    const perMs = limit / 60_000;
    let b = this.#buckets.get(key);
    if (!b || b.limit !== limit) {
      b = { tokens: limit, at: now, limit };
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.clear();
      this.#buckets.set(key, b);
    } else if (now > b.at) {
      b.tokens = Math.min(limit, b.tokens + (now - b.at) * perMs);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return ALLOWED;
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000)) };
  }

  forget(key: string): void {
    this.#buckets.delete(key);
  }
}
