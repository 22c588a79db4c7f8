import type { PackedEntry } from './packed.ts';

/**
 * What an entry that stands for several events adds to their shared detail: how many, when each
 * after the first happened and, for events that each took a time (proxied calls), how long each
 * later one took (`durationMs` stays the first's).
 */
export interface GroupDetail {
  count: number;
  /** Each later event's time, in milliseconds after the entry's `at`, in order. */
  laterMs: number[];
  /** Each later event's duration in milliseconds, in the same order; only for events with a duration. */
  laterDurationMs?: number[];
}

interface Group {
  entry: PackedEntry;
  /** The event objects recorded into it (see `addAgain`); null when none was given. */
  sources: object[] | null;
  laterMs: number[];
  /** Every event's duration, the first's first; null for events without one. */
  durations: number[] | null;
  /** Monotonic time after which the group is closed. */
  due: number;
  closed: boolean;
  /** What the caller said of its first event (the audit thread: the chunk it came in). */
  tag: number;
}

/** Same organization, actor, action, outcome, integration, member and detail (the connection is the lookup key). */
function sameEvent(a: PackedEntry, b: PackedEntry): boolean {
  return a[0] === b[0] && a[2] === b[2] && a[3] === b[3] && a[4] === b[4] && a[5] === b[5] && a[6] === b[6] && a[9] === b[9] && sameDetail(a[8], b[8]);
}

/** Equal details: the same keys with equal values; an array value (query parameter names) compared item by item. */
function sameDetail(a: Record<string, unknown> | null, b: Record<string, unknown> | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  let keys = 0;
  for (const k in a) {
    keys++;
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  for (const _ in b) keys--;
  return keys === 0;
}

/**
 * Events that repeat many times a second with nothing but their time (and duration) changing — a
 * token read by one key of one connection, the same call through the gateway with the same answer
 * — gathered from the first for `windowMs`, then stored as one entry: the events' shared detail,
 * plus `count`, each later event's time (`laterMs`, milliseconds after the entry's `at`) and, for
 * events with a duration, each later one's (`laterDurationMs`). No event is dropped and each keeps
 * its time to the millisecond; what is saved is a row (and its hand-over, encoding and insert) per
 * event. A group holds at most `maxCount` events.
 *
 * Found by connection (then compared field by field: strings shared with the event are compared
 * by reference), so adding an event builds no key.
 */
export class EventGroups {
  readonly #byConnection = new Map<string | null, Group[]>();
  /** Open groups by the event objects recorded into them (see `addAgain`). */
  readonly #bySource = new Map<object, Group>();
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
   * Adds `event` (a packed entry, its time `event[1]`; `durationMs` how long it took, when it is
   * a call) to its open group, or opens one with it. `source` is the event object it was packed
   * from: recorded again, it is added with `addAgain`. `tag`, kept with a group this event opens,
   * is what `oldestOpenTag` answers. Returns the group's entry when this event filled it (closed:
   * the caller queues it).
   */
  add(event: PackedEntry, now: number, durationMs: number | null = null, source: object | null = null, tag = 0): PackedEntry | null {
    const connection = event[7];
    const groups = this.#byConnection.get(connection);
    let g: Group | undefined;
    if (groups !== undefined) for (const x of groups) if (sameEvent(x.entry, event)) { g = x; break; }
    if (g !== undefined) {
      if (source !== null && !this.#bySource.has(source)) {
        this.#bySource.set(source, g);
        (g.sources ??= []).push(source);
      }
      return this.#join(g, event[1], durationMs);
    }
    const opened: Group = { entry: event, sources: source === null ? null : [source], laterMs: [], durations: durationMs === null ? null : [durationMs], due: now + this.#windowMs, closed: false, tag };
    if (groups === undefined) this.#byConnection.set(connection, [opened]);
    else groups.push(opened);
    if (source !== null) this.#bySource.set(source, opened);
    this.#order.push(opened);
    this.#open++;
    return null;
  }

  /**
   * The same event object recorded again (a caller that keeps the event of a call it repeats): added
   * to the open group it went into, at `at`, without packing or comparing it. Returns undefined
   * when that group is closed or there was none (the caller packs it and calls `add`), otherwise as
   * `add`. The object must not have changed since it was first added.
   */
  addAgain(source: object, at: number, durationMs: number | null = null): PackedEntry | null | undefined {
    const g = this.#bySource.get(source);
    return g === undefined ? undefined : this.#join(g, at, durationMs);
  }

  #join(g: Group, at: number, durationMs: number | null): PackedEntry | null {
    g.laterMs.push(Math.max(0, at - g.entry[1]));
    g.durations?.push(durationMs ?? 0);
    if (g.laterMs.length + 1 < this.#maxCount) return null;
    return this.#close(g);
  }

  /**
   * The tag of the open group opened first, null when none is open. Tags given in the order events
   * arrive (rising), every event in an open group came with this tag or a later one.
   */
  oldestOpenTag(): number | null {
    for (let i = this.#head; i < this.#order.length; i++) if (!this.#order[i]!.closed) return this.#order[i]!.tag;
    return null;
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
    if (g.sources !== null) for (const x of g.sources) this.#bySource.delete(x);
    const connection = g.entry[7];
    const groups = this.#byConnection.get(connection)!;
    if (groups.length === 1) this.#byConnection.delete(connection);
    else groups.splice(groups.indexOf(g), 1);
    const durations = g.durations;
    if (durations === null && g.laterMs.length === 0) return g.entry; // one event without a duration: its detail as it is
    const detail: Record<string, unknown> = { ...g.entry[8] };
    if (durations !== null) detail['durationMs'] = durations[0];
    if (g.laterMs.length > 0) {
      const group: GroupDetail = { count: g.laterMs.length + 1, laterMs: g.laterMs };
      if (durations !== null) group.laterDurationMs = durations.slice(1);
      Object.assign(detail, group);
    }
    g.entry[8] = detail;
    return g.entry;
  }
}
