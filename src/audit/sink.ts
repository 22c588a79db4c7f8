import { type Random, idSource } from '../core/index.ts';
import type { NewAuditRecord, Store } from '../store/index.ts';
import { type PackedEntry, unpackEntry } from './packed.ts';

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
