import type { Clock } from '../core/clock.ts';
import { SingleFlight } from '../core/single-flight.ts';
import type { Store } from '../store/index.ts';

export interface RetentionOptions {
  store: Store;
  clock: Clock;
  /** Entries older than this are removed. */
  retentionDays: number;
  /** Rows deleted per statement: small, so a request never waits long behind a prune. */
  batch?: number;
  /** Batches per pass, so one pass is bounded too (the rest goes next time). */
  maxBatches?: number;
  onError?: (e: unknown) => void;
}

const DAY_MS = 86_400_000;

/**
 * Audit retention: prunes entries older than the configured age in the background, in small
 * batches with a yield between them, so requests are never blocked by a large delete.
 */
export class AuditRetention {
  readonly #o: RetentionOptions;
  #timer: NodeJS.Timeout | null = null;
  readonly #flight = new SingleFlight(() => this.#pass());

  constructor(o: RetentionOptions) {
    this.#o = o;
  }

  /** One pass over every organization; returns how many entries were removed. */
  runOnce(): Promise<number> {
    return this.#flight.run();
  }

  async #pass(): Promise<number> {
    const { store, clock } = this.#o;
    const batch = this.#o.batch ?? 1000;
    const before = clock.now() - this.#o.retentionDays * DAY_MS;
    let removed = 0;
    let batches = 0;
    for (const org of await store.orgs.list()) {
      for (;;) {
        if (batches++ >= (this.#o.maxBatches ?? 1000)) return removed;
        const n = await store.audit.pruneBefore(org.id, before, batch);
        removed += n;
        if (n < batch) break;
        await new Promise((r) => setImmediate(r)); // let queued requests run between batches
      }
    }
    return removed;
  }

  start(everyMs = 3_600_000): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.runOnce().catch((e: unknown) => this.#o.onError?.(e)), everyMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#flight.settled();
  }
}
