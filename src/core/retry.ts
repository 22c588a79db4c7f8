import { type KeywayError, isKeywayError } from './errors.ts';

export interface RetryWindow<E> {
  /** When to stop trying (monotonic ms, `performance.now()`); read after every failure, so it may move. */
  until: () => number;
  /** The first wait; it doubles up to `maxMs`. */
  firstMs: number;
  maxMs: number;
  /** Told before each wait, with the error that caused it. */
  onRetry?: (e: E) => void;
  /** Waits that never keep the process alive (for work that may be dropped at exit). */
  unref?: boolean;
}

/**
 * Runs `attempt` again while it fails with an error `passing` says will pass, until `until`; any
 * other error, or the last one, is thrown.
 */
export async function retryWhile<T, E>(attempt: () => Promise<T>, passing: (e: unknown) => e is E, o: RetryWindow<E>): Promise<T> {
  for (let wait = o.firstMs; ; wait = Math.min(wait * 2, o.maxMs)) {
    try {
      return await attempt();
    } catch (e) {
      const left = o.until() - performance.now();
      if (!passing(e) || left <= 0) throw e;
      o.onRetry?.(e);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(wait, left));
        if (o.unref) t.unref();
      });
    }
  }
}

const storeUnavailable = (e: unknown): e is KeywayError => isKeywayError(e, 'store_unavailable');

/**
 * `retryWhile` the store is unavailable (the database down, locked by another process or full):
 * for writes that must not be lost to a short outage and are safe to repeat.
 */
export function retryWhileStoreUnavailable<T>(attempt: () => Promise<T>, o: RetryWindow<KeywayError>): Promise<T> {
  return retryWhile(attempt, storeUnavailable, o);
}
