import { EventGroups } from './groups.ts';
import type { PackedEntry } from './packed.ts';
import type { RepeatChunk } from './repeat-chunks.ts';

/**
 * The audit thread's side of `RepeatChunks`: the events of each chunk grouped as the writer would
 * group them (`EventGroups`, the same window), each group tagged with the chunk its first event
 * came in, so that `closedThrough` can tell up to which chunk every event is in a closed group.
 */
export class ChunkGroups {
  readonly #groups: EventGroups;
  /** The entry each id stands for, its `at` the first time it was seen. */
  readonly #entries = new Map<number, PackedEntry>();
  #lastSeq = 0;

  constructor(windowMs: number) {
    this.#groups = new EventGroups(windowMs);
  }

  /** Open groups. */
  get size(): number {
    return this.#groups.size;
  }

  /** Groups the chunk's events (monotonic time `now`); a group one of them fills goes into `full`. */
  take(c: RepeatChunk, now: number, full: PackedEntry[]): void {
    for (const id of c.forget) this.#entries.delete(id);
    for (const [id, entry] of c.events) this.#entries.set(id, entry);
    const d = c.data;
    for (let i = 0; i < d.length; i += 3) {
      const entry = this.#entries.get(d[i]!);
      if (entry === undefined) throw new Error(`audit chunk ${c.seq} names an event the thread was never sent (${d[i]})`);
      const at = d[i + 1]!;
      const dur = Number.isNaN(d[i + 2]!) ? null : d[i + 2]!;
      let closed = this.#groups.addAgain(entry, at, dur);
      if (closed === undefined) {
        const first = entry.slice() as PackedEntry;
        first[1] = at;
        closed = this.#groups.add(first, now, dur, entry, c.seq);
      }
      if (closed !== null) full.push(closed);
    }
    this.#lastSeq = c.seq;
  }

  /** As `EventGroups.closeDue`. */
  closeDue(now: number, out: PackedEntry[]): void {
    this.#groups.closeDue(now, out);
  }

  /** The last chunk every event of which, and of every chunk before it, is in a closed group. */
  closedThrough(): number {
    const oldest = this.#groups.oldestOpenTag();
    return oldest === null ? this.#lastSeq : oldest - 1;
  }
}
