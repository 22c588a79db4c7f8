import { type Random, idSource } from '../core/index.ts';
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

/** Writes batches with the store on the calling thread, one after another. */
export class StoreAuditSink implements AuditSink {
  readonly #store: Store;
  readonly #newId: () => string;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(store: Store, random: Random) {
    this.#store = store;
    this.#newId = idSource('audit', random);
  }

  write(batch: PackedEntry[]): Promise<void> {
    const done = this.#tail.then(() => this.#store.audit.append(batch.map((e) => unpackEntry(e, this.#newId()))));
    this.#tail = done.catch(() => undefined);
    return done;
  }

  async close(): Promise<void> {
    await this.#tail;
  }
}
