import type { Clock } from '../core/clock.ts';
import { SingleFlight } from '../core/single-flight.ts';
import { KeywayError } from '../core/errors.ts';
import type { ConnectionRecord, Lease, Store } from '../store/index.ts';
import { needsRefresh, type RefreshPolicy } from './policy.ts';
import type { Refresher } from './refresher.ts';

export interface SchedulerOptions {
  store: Store;
  clock: Clock;
  refresher: Refresher;
  policy: RefreshPolicy;
  /** Refreshes running at once in this process. */
  concurrency?: number;
  /** How often to look for due connections (real time). */
  tickMs?: number;
  /** Refresh a refresh token unused this long, so providers that drop idle ones (90 days at many) never do. */
  idleTouchMs?: number;
  /** At most this many refreshes per second to one provider from this process (a token bucket). */
  perProviderPerSecond?: number;
  /** Connections looked at per tick. */
  batch?: number;
  random?: () => number;
  /** Also run each pass: turns needs_reauth what has already died (expired refresh tokens). */
  sweep?: () => Promise<unknown>;
  onError?: (e: unknown) => void;
}

const MIN = 60_000;

/** Wait after `failures` failed refreshes in a row: 30 s doubling to 30 min, ±20% jitter. */
export function backoffMs(failures: number, jitter: number): number {
  const base = Math.min(30 * MIN, 30_000 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + 0.4 * jitter));
}

interface Bucket { tokens: number; at: number }
type Claimed = { lease: Lease; row: ConnectionRecord };

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/**
 * Background refresh: keeps connections alive when nobody calls. Same refresh-ahead rule and the
 * same per-connection lock as on-demand refresh (it calls the Refresher), so several processes
 * never refresh one connection twice; bounded concurrency, a jittered tick, backoff per connection
 * after failures, and a per-provider rate limit.
 */
export class RefreshScheduler {
  readonly #o: Required<Omit<SchedulerOptions, 'onError' | 'sweep'>> & Pick<SchedulerOptions, 'onError' | 'sweep'>;
  readonly #buckets = new Map<string, Bucket>();
  readonly #providerOf = new Map<string, string>();
  readonly #backoffUntil = new Map<string, { failures: number; until: number }>();
  #timer: NodeJS.Timeout | null = null;
  readonly #flight = new SingleFlight(() => this.#pass());

  constructor(o: SchedulerOptions) {
    this.#o = {
      concurrency: 8, tickMs: 15_000, idleTouchMs: 30 * 24 * 60 * MIN, perProviderPerSecond: 50, batch: 1000,
      random: Math.random, ...o,
    };
  }

  /** One pass: refreshes every connection due now (or touches idle ones). Returns how many were refreshed. */
  runOnce(): Promise<number> {
    return this.#flight.run();
  }

  async #pass(): Promise<number> {
    await this.#o.sweep?.();
    let refreshed = 0;
    // A full batch means more may be due: keep going (bounded) instead of waiting a whole tick.
    for (let round = 0; round < 50; round++) {
      const { done, full } = await this.#batch();
      refreshed += done;
      if (!full) break;
    }
    return refreshed;
  }

  async #batch(): Promise<{ done: number; full: boolean }> {
    const { store, clock, policy } = this.#o;
    const now = clock.now();
    // Look one tick ahead so a token whose window opens before the next pass is not missed.
    const candidates = await store.connections.dueForRefresh(now + policy.refreshAheadMs + this.#o.tickMs, now - this.#o.idleTouchMs, this.#o.batch);
    // Shuffled, so processes passing together start on different connections. Leases are claimed a
    // few at a time, only on connections still at the version judged due: what another process
    // refreshed or holds meanwhile costs nothing here. A claim takes only as many as there are free
    // workers, so a claimed row does not sit waiting for one (the refresher renews the lease anyway
    // when the provider call starts, which covers the per-provider pace).
    const work = shuffle(candidates.filter((c) => this.#isDue(c, now)), this.#o.random);
    const workers = Math.max(1, this.#o.concurrency);
    const claimed: Claimed[] = [];
    let next = 0;
    let busy = 0;
    let claiming: Promise<void> | null = null;
    const claimMore = async (): Promise<void> => {
      const wanted = work.slice(next, next + Math.max(1, workers - busy));
      next += wanted.length;
      claimed.push(...await store.connections.claimForRefresh(wanted, this.#o.refresher.leaseOwner, clock.now(), this.#o.refresher.leaseMs));
    };
    // Workers arriving while a claim is out wait for it rather than leave: it may bring work for all.
    const take = async (): Promise<Claimed | undefined> => {
      for (;;) {
        const c = claimed.shift();
        if (c) return c;
        if (claiming) {
          await claiming;
          continue;
        }
        if (next >= work.length) return undefined;
        claiming = claimMore().finally(() => { claiming = null; });
      }
    };
    let refreshed = 0;
    const worker = async (): Promise<void> => {
      for (let c = await take(); c; c = await take()) {
        busy++;
        try {
          if (await this.#refreshOne(c)) refreshed++;
        } finally {
          busy--;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(workers, work.length) }, worker));
    return { done: refreshed, full: candidates.length === this.#o.batch && refreshed > 0 };
  }

  #isDue(c: ConnectionRecord, now: number): boolean {
    const b = this.#backoffUntil.get(c.id);
    if (b && b.failures === c.refreshFailures && now < b.until) return false;
    // Within the next tick's window: refresh now rather than risk the token lapsing between passes.
    // Tokens living less than two ticks are left to on-demand refresh: a pass would renew them
    // every time, and an idle one is kept alive by the idle touch below.
    const lifetime = c.expiresAt !== null && c.obtainedAt !== null ? c.expiresAt - c.obtainedAt : Infinity;
    const soon = lifetime >= 2 * this.#o.tickMs && needsRefresh(c, now + this.#o.tickMs, this.#o.policy);
    const idle = c.refreshTokenEnc !== null && (c.obtainedAt ?? 0) < now - this.#o.idleTouchMs;
    return soon || idle;
  }

  async #refreshOne({ row: c, lease }: Claimed): Promise<boolean> {
    const { clock, refresher } = this.#o;
    await this.#takeRateToken(c);
    try {
      const after = await refresher.refreshLeased(c, lease);
      if (after.refreshFailures > 0) {
        this.#backoffUntil.set(c.id, { failures: after.refreshFailures, until: clock.now() + backoffMs(after.refreshFailures, this.#o.random()) });
        return false;
      }
      this.#backoffUntil.delete(c.id);
      return after.tokenVersion !== c.tokenVersion;
    } catch (e) {
      // Another process took the lease over before the provider call: it refreshes the connection.
      if (e instanceof KeywayError && e.code === 'refresh_in_progress') return false;
      // needs_reauth, provider down with an expired token: record and move on.
      const latest = await this.#o.store.connections.get(c.orgId, c.id).catch(() => null);
      const failures = latest?.refreshFailures ?? c.refreshFailures + 1;
      this.#backoffUntil.set(c.id, { failures, until: clock.now() + backoffMs(Math.max(1, failures), this.#o.random()) });
      this.#o.onError?.(e);
      return false;
    }
  }

  /**
   * Paces calls to one provider (built-in provider id, or the integration for custom ones) to
   * `perProviderPerSecond` in this process: a token bucket in real time that makes a caller wait
   * for its turn rather than skip (the injected clock is for token lifetimes, not for pacing).
   */
  async #takeRateToken(c: ConnectionRecord): Promise<void> {
    let key = this.#providerOf.get(c.integrationId);
    if (key === undefined) {
      const provider = (await this.#o.store.integrations.get(c.orgId, c.integrationId))?.provider ?? 'unknown';
      key = provider === 'custom' ? `custom:${c.integrationId}` : provider;
      this.#providerOf.set(c.integrationId, key);
    }
    const rate = this.#o.perProviderPerSecond;
    const now = performance.now();
    const b = this.#buckets.get(key) ?? { tokens: rate, at: now };
    b.tokens = Math.min(rate, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    this.#buckets.set(key, b);
    b.tokens -= 1; // reserve a turn; a negative balance is a queue
    if (b.tokens < 0) await new Promise((r) => setTimeout(r, (-b.tokens / rate) * 1000));
  }

  /**
   * Passes every tick, jittered ±20% so processes started together do not pass in lockstep. The
   * first pass comes at a random point within the first fifth of a tick, not a whole tick later:
   * after a restart or downtime, what came due meanwhile is renewed at once.
   */
  start(): void {
    if (this.#timer) return;
    const after = (from: number, to: number): number => Math.round(this.#o.tickMs * (from + (to - from) * this.#o.random()));
    const loop = (delay: number): void => {
      this.#timer = setTimeout(() => {
        void this.runOnce().catch((e: unknown) => this.#o.onError?.(e)).finally(() => { if (this.#timer) loop(after(0.8, 1.2)); });
      }, delay);
      this.#timer.unref();
    };
    loop(after(0, 0.2));
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#flight.settled();
  }
}
