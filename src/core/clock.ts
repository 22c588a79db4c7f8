/** The one place wall-clock time is read. Everything else takes a Clock, so tests can move time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  private t: number;
  constructor(start: number = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}

/** The latest time a JavaScript date can hold (±8.64e15 ms): a stored time past it is shown as it. */
const LATEST_MS = 8.64e15;

export function iso(ms: number): string {
  return new Date(Math.max(-LATEST_MS, Math.min(LATEST_MS, ms))).toISOString();
}
