import { Worker } from 'node:worker_threads';
import type { Random } from '../core/random.ts';
import type { Store, StoreLocation } from '../store/index.ts';
import { type AuditSink, type RepeatedEventSink, StoreAuditSink } from './sink.ts';
import { readChanged } from './stamp-cache.ts';
import type { PackedEntry } from './packed.ts';
import { RepeatChunks, type TakenBack } from './repeat-chunks.ts';
import type { AuditThreadData, ToAuditThread, FromAuditThread } from './audit-thread.ts';

export interface ThreadAuditSinkOptions {
  /** The store the thread opens for itself: the same database as the process's own store. */
  location: StoreLocation;
  /** The same database opened on this thread: it stores batches and reads stamps when the thread cannot start or stops. */
  store: Store;
  /** For audit ids when this thread stores them. */
  random: Random;
  /** Told once, when the thread is lost and this thread takes over. */
  onLost: (e: Error) => void;
  /**
   * The writer's grouping window (`AuditWriter`'s `groupMs`): above 0, repeated events are grouped
   * and stored by the thread (`repeated`). Default 0: the writer groups them.
   */
  groupMs?: number;
  /** Told when the database refuses groups the thread closed (the writer's own batches reject instead). */
  onError?: (e: Error) => void;
  /** Told when the database cannot take entries now and they are held to be tried again (`StoreAuditSinkOptions.onHeld`). */
  onHeld?: (e: Error) => void;
}

interface StampWait {
  ids: string[];
  stamps: string[];
  resolve: (changed: string[]) => void;
  reject: (e: Error) => void;
}

interface Waiting {
  batch: PackedEntry[];
  resolve: () => void;
  reject: (e: Error) => void;
}

/** How long `close` waits for the thread to store what it holds and end. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * Audit batches stored by a worker thread with its own connection to the database, so that making
 * ids, encoding and inserting entries (and SQLite's commit) never run on the thread that answers
 * requests. Batches are sent in order and the thread stores them in order; each `write` resolves
 * when the thread says its batch is stored. With `groupMs`, the thread also groups the writer's
 * repeated events (`repeated`, `RepeatChunks`): a token read or a repeated gateway call then
 * costs the request thread a few numbers written into a chunk.
 *
 * If the thread cannot open the database or stops, the batches it had not confirmed, and every
 * later one, are written with `store` on this thread, and the repeated events it had not stored
 * are given back to the writer, which groups them itself from then on: no entry is dropped. (One
 * the thread stored just before dying, before it could confirm, may then be stored twice.)
 */
export class ThreadAuditSink implements AuditSink, RepeatedEventSink {
  readonly #opts: ThreadAuditSinkOptions;
  /** Stores batches on this thread once the thread is lost. */
  readonly #fallback: StoreAuditSink;
  #worker: Worker | null;
  readonly #waiting = new Map<number, Waiting>();
  readonly #stampWaits = new Map<number, StampWait>();
  /** Every write not yet confirmed (or failed), for `close` to wait on. */
  readonly #unsettled = new Set<Promise<void>>();
  #seq = 0;
  #closing = false;
  /** Repeated events sent to the thread to group; null when the writer groups them or the thread is lost. */
  #repeats: RepeatChunks | null = null;
  #adopt: ((taken: TakenBack[]) => void) | null = null;

  constructor(opts: ThreadAuditSinkOptions) {
    this.#opts = opts;
    this.#fallback = new StoreAuditSink(opts.store, opts.random, opts.onHeld ? { onHeld: opts.onHeld } : {});
    const groupMs = opts.groupMs ?? 0;
    const worker = new Worker(new URL('./audit-thread.ts', import.meta.url), {
      workerData: { location: opts.location, groupMs } satisfies AuditThreadData,
      // Its heap holds a few batches at a time; a small young generation keeps its memory small.
      resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 128 },
    });
    worker.on('message', (m: FromAuditThread) => this.#answer(m));
    worker.on('error', (e) => this.#lost(e));
    worker.on('exit', (code) => {
      if (!this.#closing) this.#lost(new Error(`the audit thread ended (exit code ${code})`));
    });
    worker.unref(); // idle, it never keeps the process alive (see write)
    this.#worker = worker;
    if (groupMs > 0) this.#repeats = new RepeatChunks((c) => worker.postMessage({ type: 'repeats', ...c } satisfies ToAuditThread));
  }

  /** This sink while the thread groups repeated events; undefined when the writer must group them. */
  get repeated(): RepeatedEventSink | undefined {
    return this.#repeats === null ? undefined : this;
  }

  add<E extends object>(source: E, at: number, durationMs: number | null, pack: (e: E, at: number) => PackedEntry): boolean {
    const r = this.#repeats;
    if (r === null) return false;
    r.add(source, at, durationMs, pack);
    return true;
  }

  send(): boolean {
    return this.#repeats?.sendDue(performance.now()) ?? false;
  }

  adopt(take: (taken: TakenBack[]) => void): void {
    this.#adopt = take;
  }

  /** Every repeated event taken so far stored by the thread (its groups closed now); resolves also when it is lost. */
  flush(): Promise<void> {
    const r = this.#repeats;
    const worker = this.#worker;
    if (r === null || worker === null) return Promise.resolve();
    r.send();
    return this.#await(worker, { type: 'flush-groups', seq: ++this.#seq }, []);
  }

  write(batch: PackedEntry[]): Promise<void> {
    const worker = this.#worker;
    if (worker === null) return this.#fallback.write(batch);
    const seq = ++this.#seq;
    try {
      return this.#await(worker, { type: 'write', seq, entries: batch }, batch);
    } catch {
      // Some detail holds a value that cannot be copied to another thread (a function, say): this
      // batch is stored here instead (ahead of any the thread still holds), as the store would
      // store it on this thread (JSON: such values left out).
      return this.#fallback.write(batch);
    }
  }

  /** Posts `m` and resolves when the thread answers it; `batch` is stored here if the thread is lost first. */
  #await(worker: Worker, m: ToAuditThread & { seq: number }, batch: PackedEntry[]): Promise<void> {
    worker.postMessage(m);
    const seq = m.seq;
    const stored = new Promise<void>((resolve, reject) => this.#waiting.set(seq, { batch, resolve, reject }));
    // While the thread holds entries not yet confirmed, it keeps the process alive (a shutdown
    // awaiting them must not find an empty event loop and exit first); idle, it never does.
    if (this.#unsettled.size === 0) worker.ref();
    this.#unsettled.add(stored);
    const forget = (): void => {
      this.#unsettled.delete(stored);
      if (this.#unsettled.size === 0 && !this.#closing) worker.unref();
    };
    stored.then(forget, forget);
    return stored;
  }

  /**
   * The token cache's re-check, run by the thread: the ids among `ids` whose stamp in the database
   * (`connections.stamps`) is no longer `stamps[i]` — changed, or deleted. Reading and comparing a
   * few hundred rows then costs the request thread only the copy of ids and stamps, and an empty
   * list back when nothing changed.
   */
  changed(ids: string[], stamps: string[]): Promise<string[]> {
    const worker = this.#worker;
    if (worker === null || this.#closing) return this.#changedHere(ids, stamps);
    const seq = ++this.#seq;
    return new Promise<string[]>((resolve, reject) => {
      this.#stampWaits.set(seq, { ids, stamps, resolve, reject });
      worker.postMessage({ type: 'changed', seq, ids, stamps } satisfies ToAuditThread);
    });
  }

  #changedHere(ids: string[], stamps: string[]): Promise<string[]> {
    return readChanged((x) => this.#opts.store.connections.stamps(x), ids, stamps);
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    // Batches the database refuses (an outage) are tried a few seconds more, not until it is back.
    this.#fallback.closing();
    worker?.postMessage({ type: 'closing' } satisfies ToAuditThread);
    if (worker !== null) await Promise.allSettled([...this.#unsettled]);
    // Lost while we waited (its batches went to the fallback), it has already exited: nothing to end.
    if (worker !== null && this.#worker === worker) {
      this.#closing = true;
      worker.ref();
      const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'close' } satisfies ToAuditThread);
      const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
      await ended;
      clearTimeout(timer);
      this.#worker = null;
    }
    await this.#fallback.close();
  }

  #answer(m: FromAuditThread): void {
    if (m.type === 'durable') return this.#repeats?.durable(m.seq, performance.now());
    if (m.type === 'groups-failed') return this.#opts.onError?.(new Error(`audit entries were not stored: ${m.message}`));
    if (m.type === 'held') return this.#opts.onHeld?.(new Error(m.message));
    const s = this.#stampWaits.get(m.seq);
    if (s !== undefined) {
      this.#stampWaits.delete(m.seq);
      if (m.type === 'changed') s.resolve(m.ids);
      else s.reject(new Error(`connection stamps could not be read: ${m.type === 'failed' ? m.message : m.type}`));
      return;
    }
    const w = this.#waiting.get(m.seq);
    if (!w) return;
    this.#waiting.delete(m.seq);
    if (m.type === 'written') w.resolve();
    else if (m.type === 'failed') w.reject(new Error(`audit entries were not stored: ${m.message}`));
  }

  /** The thread is gone: what it had not confirmed, and everything after, goes to the fallback. */
  #lost(e: Error): void {
    if (this.#worker === null) return;
    this.#worker = null;
    this.#opts.onLost(new Error(`The audit thread stopped (${e.message}); audit entries are written on the main thread from now on.`, { cause: e }));
    const unconfirmed = [...this.#waiting.entries()].sort((a, b) => a[0] - b[0]);
    this.#waiting.clear();
    for (const [, w] of unconfirmed) this.#fallback.write(w.batch).then(w.resolve, w.reject);
    const taken = this.#repeats?.takeBack() ?? [];
    this.#repeats = null;
    if (taken.length > 0) this.#adopt?.(taken);
    const reads = [...this.#stampWaits.values()];
    this.#stampWaits.clear();
    for (const r of reads) this.#changedHere(r.ids, r.stamps).then(r.resolve, r.reject);
  }
}
