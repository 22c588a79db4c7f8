import type { PackedEntry } from './packed.ts';

/** Events a chunk holds before it is sent without waiting for the timer. */
const CHUNK_EVENTS = 4096;

/** Numbers per event in a chunk: the event's id, its time, its duration (NaN for none). */
const STRIDE = 3;

/**
 * How often a chunk that is not full is sent. Each message to the thread wakes it, which on this
 * machine cost the sender 70–300 µs (the thread asleep on another CPU); at 20 a second that was
 * 0.4 µs a token read in a CPU profile, at 4 a second a fifth of it. Groups stay open a second, so
 * this only delays when an entry is stored (a reader's `flush` sends at once).
 */
export const SEND_EVERY_MS = 250;

/** What a chunk message carries to the audit thread (see `audit-thread.ts`). */
export interface RepeatChunk {
  seq: number;
  /** Events first seen since the last chunk: id and the packed entry it stands for (`at`: its first time). */
  events: [id: number, entry: PackedEntry][];
  /** Ids that will not be used again: every event with them is stored. */
  forget: number[];
  /** STRIDE numbers per event: id, time, duration or NaN. */
  data: Float64Array;
}

/** One repeated event object as this side knows it. */
interface Known {
  id: number;
  source: object;
  entry: PackedEntry;
  /** The chunk its latest use went into. */
  lastSeq: number;
}

/** An event taken back from the thread (lost): its object, time and duration. */
export interface TakenBack {
  source: object;
  at: number;
  durationMs: number | null;
}

/**
 * The request thread's side of grouping repeated events on the audit thread. A repeat costs it one
 * lookup and three numbers written into a preallocated chunk: no array grows, nothing is compared,
 * no entry is built, and no object lives for the length of a group's window (which, promoted,
 * would make its large heap's collections more frequent). The chunk is sent every few tens of
 * milliseconds with the events first seen since the last one; the thread groups, stores and tells
 * which chunks are stored (`durable`).
 *
 * Until then every chunk is kept, so that if the thread is lost, `takeBack` returns each event it
 * had not stored, in order, for this thread to group and store: none is dropped.
 */
export class RepeatChunks {
  readonly #post: (c: RepeatChunk) => void;
  readonly #known = new WeakMap<object, Known>();
  readonly #byId = new Map<number, Known>();
  #nextId = 0;
  #data = new Float64Array(CHUNK_EVENTS * STRIDE);
  #n = 0;
  #events: [number, PackedEntry][] = [];
  #forget: number[] = [];
  /** The last chunk sent. */
  #seq = 0;
  /** Sent and not yet stored, oldest first. */
  readonly #sent = new Map<number, Float64Array>();
  #durable = 0;
  #prunedAt = 0;
  /** When the last chunk was sent (monotonic). */
  #sentAt = 0;

  constructor(post: (c: RepeatChunk) => void) {
    this.#post = post;
  }

  /** Events taken and not yet confirmed stored (sent or not). */
  get holding(): boolean {
    return this.#n > 0 || this.#sent.size > 0;
  }

  /**
   * One more use of `source` at `at` (`pack` makes its entry the first time it is seen). The same
   * object stands for the same event each time (see `AuditWriter.recordRepeated`).
   */
  add<E extends object>(source: E, at: number, durationMs: number | null, pack: (e: E, at: number) => PackedEntry): void {
    let k = this.#known.get(source);
    if (k === undefined) {
      k = { id: ++this.#nextId, source, entry: pack(source, at), lastSeq: 0 };
      this.#known.set(source, k);
      this.#byId.set(k.id, k);
      this.#events.push([k.id, k.entry]);
    }
    k.lastSeq = this.#seq + 1;
    const i = this.#n * STRIDE;
    const d = this.#data;
    d[i] = k.id;
    d[i + 1] = at;
    d[i + 2] = durationMs ?? NaN;
    if (++this.#n === CHUNK_EVENTS) this.send();
  }

  /**
   * Sends the events taken since the last chunk when SEND_EVERY_MS have passed since it; true when
   * some are left for a later call.
   */
  sendDue(now: number): boolean {
    if (this.#n === 0) return false;
    if (now - this.#sentAt < SEND_EVERY_MS) return true;
    this.send();
    return false;
  }

  /** Sends the events taken since the last chunk (nothing when there are none). */
  send(): void {
    if (this.#n === 0) return;
    this.#sentAt = performance.now();
    const data = this.#data.slice(0, this.#n * STRIDE);
    this.#n = 0;
    const seq = ++this.#seq;
    this.#sent.set(seq, data);
    const events = this.#events;
    const forget = this.#forget;
    this.#events = [];
    this.#forget = [];
    this.#post({ seq, events, forget, data });
  }

  /** The last chunk sent (a flush asks the thread to store up to it). */
  get lastSeq(): number {
    return this.#seq;
  }

  /**
   * The thread stored every event of the chunks up to `seq`: they are let go, and (at most once a
   * second) so are the objects whose every use is stored, their ids forgotten on both sides.
   */
  durable(seq: number, now: number): void {
    if (seq <= this.#durable) return;
    this.#durable = seq;
    for (const s of this.#sent.keys()) {
      if (s > seq) break;
      this.#sent.delete(s);
    }
    if (now - this.#prunedAt < 1000) return;
    this.#prunedAt = now;
    for (const [id, k] of this.#byId) {
      if (k.lastSeq > seq) continue;
      this.#byId.delete(id);
      this.#known.delete(k.source);
      this.#forget.push(id);
    }
  }

  /** Every event not confirmed stored, in the order it was taken; nothing is kept after. */
  takeBack(): TakenBack[] {
    const out: TakenBack[] = [];
    const chunks = [...this.#sent.values(), this.#data.subarray(0, this.#n * STRIDE)];
    for (const d of chunks) {
      for (let i = 0; i < d.length; i += STRIDE) {
        const k = this.#byId.get(d[i]!)!;
        const dur = d[i + 2]!;
        out.push({ source: k.source, at: d[i + 1]!, durationMs: Number.isNaN(dur) ? null : dur });
      }
    }
    this.#sent.clear();
    this.#n = 0;
    return out;
  }
}
