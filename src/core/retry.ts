import { KeywayError, isKeywayError } from './errors.ts';

export interface OutageRetry {
  /** When to stop trying (monotonic ms, `performance.now()`); read before every wait, so it may move. */
  until: () => number;
  /** The first wait; it doubles up to `maxMs`. */
  firstMs: number;
  maxMs: number;
  /** Told before each wait, with the error that caused it. */
  onRetry?: (e: KeywayError) => void;
  /** Waits that never keep the process alive (for work that may be dropped at exit). */
  unref?: boolean;
}

/**
 * Runs `attempt` again while it fails with `store_unavailable` (the database down, locked by
 * another process or full), until `until`; any other error, or the last one, is thrown. For writes
 * that must not be lost to a short outage and are safe to repeat.
 */
export async function retryWhileStoreUnavailable<T>(attempt: () => Promise<T>, o: OutageRetry): Promise<T> {
  for (let wait = o.firstMs; ; wait = Math.min(wait * 2, o.maxMs)) {
    try {
      return await attempt();
    } catch (e) {
      const left = o.until() - performance.now();
      if (!isKeywayError(e, 'store_unavailable') || left <= 0) throw e;
      o.onRetry?.(e);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(wait, left));
        if (o.unref) t.unref();
      });
    }
  }
}
