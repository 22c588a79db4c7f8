/**
 * One run at a time of a background pass (a scheduler tick, a retention sweep, a webhook
 * delivery round): a call while a run is going gets that run's promise instead of starting another.
 */
export class SingleFlight<T> {
  readonly #fn: () => Promise<T>;
  #running: Promise<T> | null = null;

  constructor(fn: () => Promise<T>) {
    this.#fn = fn;
  }

  run(): Promise<T> {
    if (this.#running) return this.#running;
    const run = this.#fn().finally(() => { this.#running = null; });
    this.#running = run;
    return run;
  }

  /** Resolves when the current run (if any) has ended, whatever its outcome. */
  async settled(): Promise<void> {
    await this.#running?.catch(() => undefined);
  }
}
