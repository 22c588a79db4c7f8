import { KeywayError } from '../core/errors.ts';
import type { Actor } from '../audit/index.ts';
import { type DevicePoll, SLOW_DOWN_STEP_S, DEFAULT_DEVICE_INTERVAL_S, pollDeviceToken, providerErrorCode } from '../oauth/index.ts';
import type { ConnectSessionRecord } from '../store/index.ts';
import { finishConnect } from './complete.ts';
import { type CompleteDeps, type SessionEnd, endSession } from './session-end.ts';

export interface DevicePollerDeps extends CompleteDeps {
  /** How often the background loop looks for due polls (real time); 0 turns the loop off. */
  tickMs: number;
  /** Sessions polled per tick at most. */
  batch?: number;
  /** A tick that failed as a whole (store down…): reported, and the loop goes on. */
  onError?: (e: unknown) => void;
}

const SYSTEM: Actor = { type: 'system', id: null };

/** What a session looks like after one poll that did not end it (RFC 8628 §3.5). Pure. */
export function afterPoll(kind: 'pending' | 'slow_down' | 'unavailable', intervalS: number, now: number): Pick<ConnectSessionRecord, 'pollIntervalS' | 'nextPollAt'> {
  // slow_down: "the interval MUST be increased by 5 seconds for this and all subsequent requests".
  const next = kind === 'slow_down' ? intervalS + SLOW_DOWN_STEP_S : intervalS;
  return { pollIntervalS: next, nextPollAt: now + next * 1000 };
}

/** Session status and error for a poll that ended the session without tokens. Pure. */
export function endOfPoll(kind: 'denied' | 'expired'): SessionEnd {
  return kind === 'denied' ? { status: 'denied', error: 'access_denied' } : { status: 'expired', error: 'expired_token' };
}

/**
 * Keyway polls the provider's token endpoint for every pending device-flow session, as RFC 8628
 * §3.4 has the device do: never sooner than the session's interval, 5 s slower for good after
 * `slow_down`, stopping on `access_denied` / `expired_token` or when the code's lifetime is over.
 * Each poll is claimed in the store first, so two pollers (threads or processes) never poll one code at once.
 * Times come from the injected clock; the loop itself runs on real timers (`tickMs`).
 */
export class DevicePoller {
  readonly #d: DevicePollerDeps;
  #timer: NodeJS.Timeout | null = null;
  #tail: Promise<number> = Promise.resolve(0);
  #stopped = false;

  constructor(deps: DevicePollerDeps) {
    this.#d = deps;
  }

  start(): void {
    if (this.#d.tickMs <= 0 || this.#timer || this.#stopped) return;
    const tick = (): void => {
      this.#timer = null;
      void this.pollDue().catch((e: unknown) => this.#d.onError?.(e)).finally(() => {
        if (!this.#stopped) {
          this.#timer = setTimeout(tick, this.#d.tickMs);
          this.#timer.unref();
        }
      });
    };
    this.#timer = setTimeout(tick, this.#d.tickMs);
    this.#timer.unref();
  }

  /** Stops the loop and waits for a tick in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#tail.catch(() => 0);
  }

  /** Polls every session that is due now (one pass; passes never overlap in this process). Returns how many were polled. */
  pollDue(): Promise<number> {
    const run = this.#tail.catch(() => 0).then(() => this.#pass());
    this.#tail = run;
    return run;
  }

  async #pass(): Promise<number> {
    const now = this.#d.clock.now();
    const due = await this.#d.store.connectSessions.listDueDevicePolls(now, this.#d.batch ?? 50);
    let polled = 0;
    for (const s of due) {
      try {
        if (await this.#pollOne(s)) polled++;
      } catch (e) {
        this.#d.onError?.(e);
      }
    }
    return polled;
  }

  /** One claimed poll of one session. False when the session was not polled (claimed elsewhere, or expired). */
  async #pollOne(s: ConnectSessionRecord): Promise<boolean> {
    const { store, clock, vault, integrations } = this.#d;
    const now = clock.now();
    if (s.expiresAt <= now || s.deviceCodeEnc === null || s.nextPollAt === null) {
      await this.#end(s, endOfPoll('expired'));
      return false;
    }
    const interval = s.pollIntervalS ?? DEFAULT_DEVICE_INTERVAL_S;
    const integration = await store.integrations.get(s.orgId, s.integrationId);
    if (!integration) {
      await this.#end(s, { status: 'failed', error: 'integration_deleted' });
      return false;
    }
    const ctx = await integrations.oauthContext(integration, { params: s.params });
    // Claimed past the provider call's timeout, so no other poller starts on this code meanwhile.
    if (!(await store.connectSessions.claimDevicePoll(s.id, s.nextPollAt, now + Math.max(interval * 1000, ctx.timeoutMs + 1000)))) return false;
    const deviceCode = await vault.decrypt({ orgId: s.orgId, recordId: s.id, field: 'device_code' }, s.deviceCodeEnc);
    let poll: DevicePoll;
    try {
      poll = await pollDeviceToken(ctx, deviceCode);
    } catch (e) {
      if (e instanceof KeywayError && e.code === 'provider_unavailable') {
        await store.connectSessions.update(s.orgId, s.id, afterPoll('unavailable', interval, clock.now()));
        return true;
      }
      const code = providerErrorCode(e) ?? (e instanceof KeywayError ? e.code : 'internal');
      await this.#end(s, { status: 'failed', error: code });
      return true;
    }
    if (poll.kind === 'pending' || poll.kind === 'slow_down') {
      await store.connectSessions.update(s.orgId, s.id, afterPoll(poll.kind, interval, clock.now()));
    } else if (poll.kind === 'denied' || poll.kind === 'expired') {
      await this.#end(s, endOfPoll(poll.kind));
    } else {
      await finishConnect(this.#d, { session: s, integration, ctx, tokens: poll.tokens, actor: SYSTEM });
    }
    return true;
  }

  async #end(s: ConnectSessionRecord, patch: SessionEnd): Promise<void> {
    if (!(await endSession(this.#d, s, patch))) return; // it had ended already: nothing more to say
    this.#d.audit.record({ orgId: s.orgId, actor: SYSTEM, action: 'connection.connect_failed', outcome: 'error', integrationId: s.integrationId, connectionId: s.reauthConnectionId, detail: { session: s.id, grant: 'device_code', result: patch.status, providerError: patch.error } });
  }
}
