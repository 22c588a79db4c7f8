import { KeywayError, type Random, idSource, isKeywayError, retryWhileStoreUnavailable } from '../core/index.ts';
import type { NewAuditRecord, Store } from '../store/index.ts';
import { type PackedEntry, unpackEntry } from './packed.ts';
import type { TakenBack } from './repeat-chunks.ts';

/** An audit entry before it is stored; the sink that stores it gives it its id. */
export type PendingAuditRecord = Omit<NewAuditRecord, 'id'>;

/** Where the audit writer's batches go: the store on this thread, or the audit thread. */
export interface AuditSink {
  /**
   * Stores one batch after every batch given before it. Resolves once it is stored; rejects when it
   * could not be (the writer logs that), and later batches are still tried.
   */
  write(batch: PackedEntry[]): Promise<void>;
  /** Waits for every batch given so far, then lets go of what the sink holds. */
  close(): Promise<void>;
  /** Present when the sink groups repeated events itself (the audit thread); see `RepeatedEventSink`. */
  readonly repeated?: RepeatedEventSink | undefined;
}

/**
 * Repeated events (`AuditWriter.recordRepeated`) grouped and stored by the sink instead of the
 * writer: the writer hands over each use of an event object, the sink groups them in the same
 * window and stores each group as the writer would.
 */
export interface RepeatedEventSink {
  /**
   * One more use of `source` at `at` (`pack` makes its entry the first time). False when the sink
   * no longer groups (its thread is lost): the writer groups this one itself.
   */
  add<E extends object>(source: E, at: number, durationMs: number | null, pack: (e: E, at: number) => PackedEntry): boolean;
  /**
   * Hands over what was added since the last time, when it is due (the writer's timer calls it);
   * true when some is left for a later call.
   */
  send(): boolean;
  /** Resolves once every use added so far is stored, their groups closed early. */
  flush(): Promise<void>;
  /** Where the uses it took and had not stored go, in order, if it stops grouping: the writer groups them. */
  adopt(take: (taken: TakenBack[]) => void): void;
}

export interface StoreAuditSinkOptions {
  /**
   * How much may wait for a database that cannot take it now (`store_unavailable`: down, locked by
   * another process, its disk full), counted in entries, a group of repeated events by its size
   * (`weightOf`). A batch beyond it is refused at once, so memory stays bounded. Default 50,000.
   */
  holdMax?: number;
  /** The first wait before a refused batch is tried again, doubling up to `retryMaxMs`. Default 250 ms and 5 s. */
  retryFirstMs?: number;
  retryMaxMs?: number;
  /** After `closing`, how long refused batches are still tried before they are given up. Default 5 s. */
  closeGraceMs?: number;
  /** Told when a batch is first refused by a database that cannot take it now, once until one is stored again. */
  onHeld?: (e: Error) => void;
}

/** What an entry weighs against `holdMax`: 1, plus 1 for every 50 later times of a group (about an entry's memory). */
function weightOf(records: NewAuditRecord[]): number {
  let w = 0;
  for (const r of records) {
    const later = (r.detail as { laterMs?: unknown }).laterMs;
    w += 1 + (Array.isArray(later) ? Math.ceil(later.length / 50) : 0);
  }
  return w;
}

/**
 * Writes batches with the store on the calling thread, one after another. A batch the database
 * cannot take now (`store_unavailable`) is held and tried again, in order, until it can, so the
 * entries of calls answered meanwhile (from memory) are stored once it is back rather than lost.
 * Every try inserts the same ids: a try whose commit was lost on the way back may be stored twice,
 * never not at all. Held batches are bounded (`holdMax`), and given up `closeGraceMs` after
 * `closing` so a shutdown during an outage ends.
 */
export class StoreAuditSink implements AuditSink {
  readonly #store: Store;
  readonly #newId: () => string;
  readonly #o: Required<Omit<StoreAuditSinkOptions, 'onHeld'>> & Pick<StoreAuditSinkOptions, 'onHeld'>;
  #tail: Promise<unknown> = Promise.resolve();
  /** The weight of the batches given and not yet stored or given up. */
  #waiting = 0;
  /** True from the first refusal until a batch is stored again (`onHeld` is told once per stretch). */
  #holding = false;
  /** When held batches stop being tried (monotonic ms); Infinity until `closing`. */
  #giveUpAt = Infinity;

  constructor(store: Store, random: Random, opts: StoreAuditSinkOptions = {}) {
    this.#store = store;
    this.#newId = idSource('audit', random);
    this.#o = {
      holdMax: opts.holdMax ?? 50_000, retryFirstMs: opts.retryFirstMs ?? 250, retryMaxMs: opts.retryMaxMs ?? 5000,
      closeGraceMs: opts.closeGraceMs ?? 5000, onHeld: opts.onHeld,
    };
  }

  write(batch: PackedEntry[]): Promise<void> {
    const records = batch.map((e) => unpackEntry(e, this.#newId()));
    const weight = weightOf(records);
    if (this.#holding && this.#waiting + weight > this.#o.holdMax) {
      return Promise.reject(new KeywayError('store_unavailable', `${records.length} audit entries were not stored: the database cannot take entries now, and ${this.#waiting} are already waiting for it.`));
    }
    this.#waiting += weight;
    const done = this.#tail.then(() => this.#append(records)).finally(() => { this.#waiting -= weight; });
    this.#tail = done.catch(() => undefined);
    return done;
  }

  /** Appends `records`, trying again while the database cannot take them now (until given up). */
  async #append(records: NewAuditRecord[]): Promise<void> {
    try {
      await retryWhileStoreUnavailable(() => this.#store.audit.append(records), {
        until: () => this.#giveUpAt, firstMs: this.#o.retryFirstMs, maxMs: this.#o.retryMaxMs,
        onRetry: (e) => {
          if (!this.#holding) this.#o.onHeld?.(new Error(`audit entries are held until the database takes them: ${e.message}`, { cause: e }));
          this.#holding = true;
        },
      });
      this.#holding = false;
    } catch (e) {
      // Only `closing` ends the retries: what is still refused then is given up.
      if (!isKeywayError(e, 'store_unavailable')) throw e;
      throw new KeywayError('store_unavailable', `${records.length} entries given up at shutdown, the database refusing them: ${e.message}`, { cause: e });
    }
  }

  /** From now on, held batches are tried for `closeGraceMs` more, then given up. */
  closing(): void {
    this.#giveUpAt = Math.min(this.#giveUpAt, performance.now() + this.#o.closeGraceMs);
  }

  async close(): Promise<void> {
    this.closing();
    await this.#tail;
  }
}
