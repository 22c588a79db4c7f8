import type { PackedEntry } from './packed.ts';

/** The detail of an entry that stands for several events: how many, and when each after the first happened. */
export interface GroupDetail {
  count: number;
  /** Each later event's time, in milliseconds after the entry's `at`, in order. */
  laterMs: number[];
}

interface Group {
  entry: PackedEntry;
  laterMs: number[];
  /** Monotonic time after which the group is closed. */
  due: number;
  closed: boolean;
}

/** Same organization, actor, action, outcome, integration and member (the connection is the lookup key). */
function sameEvent(a: PackedEntry, b: PackedEntry): boolean {
  return a[0] === b[0] && a[2] === b[2] && a[3] === b[3] && a[4] === b[4] && a[5] === b[5] && a[6] === b[6] && a[9] === b[9];
}

/**
 * Events that repeat many times a second with nothing but their time changing — a token read by
 * one key of one connection — gathered from the first for `windowMs`, then stored as one entry
 * whose detail gives `count` and each later event's time (`laterMs`, milliseconds after the entry's
 * `at`). No event is dropped and each keeps its time to the millisecond; what is saved is a row
 * (and its hand-over, encoding and insert) per event. A group holds at most `maxCount` events.
 *
 * Found by connection (then compared field by field: strings shared with the event are compared
 * by reference), so adding an event builds no key.
 */
export class EventGroups {
  readonly #byConnection = new Map<string | null, Group[]>();
  /** Every open group, opened first first (so due first first); closed ones are skipped. */
  #order: Group[] = [];
  #head = 0;
  #open = 0;
  readonly #windowMs: number;
  readonly #maxCount: number;

  constructor(windowMs: number, maxCount = 1000) {
    this.#windowMs = windowMs;
    this.#maxCount = maxCount;
  }

  get size(): number {
    return this.#open;
  }

  /**
   * Adds `event` (a packed entry with no detail, its time `event[1]`) to its open group, or opens
   * one with it. Returns the group's entry when this event filled it (closed: the caller queues it).
   */
  add(event: PackedEntry, now: number): PackedEntry | null {
    const connection = event[7];
    const groups = this.#byConnection.get(connection);
    let g: Group | undefined;
    if (groups !== undefined) for (const x of groups) if (sameEvent(x.entry, event)) { g = x; break; }
    if (g === undefined) {
      const opened: Group = { entry: event, laterMs: [], due: now + this.#windowMs, closed: false };
      if (groups === undefined) this.#byConnection.set(connection, [opened]);
      else groups.push(opened);
      this.#order.push(opened);
      this.#open++;
      return null;
    }
    g.laterMs.push(Math.max(0, event[1] - g.entry[1]));
    if (g.laterMs.length + 1 < this.#maxCount) return null;
    return this.#close(g);
  }

  /** Closes the groups whose window has passed (every one when `now` is Infinity), oldest first, into `out`. */
  closeDue(now: number, out: PackedEntry[]): void {
    while (this.#head < this.#order.length) {
      const g = this.#order[this.#head]!;
      if (!g.closed) {
        if (g.due > now) break;
        out.push(this.#close(g));
      }
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }

  #close(g: Group): PackedEntry {
    g.closed = true;
    this.#open--;
    const connection = g.entry[7];
    const groups = this.#byConnection.get(connection)!;
    if (groups.length === 1) this.#byConnection.delete(connection);
    else groups.splice(groups.indexOf(g), 1);
    if (g.laterMs.length > 0) g.entry[8] = { count: g.laterMs.length + 1, laterMs: g.laterMs } satisfies GroupDetail;
    return g.entry;
  }
}
