import type { Clock } from '../core/clock.ts';
import type { AuditRecord } from '../store/index.ts';
import type { AuditSink, RepeatedEventSink } from './sink.ts';
import type { PackedEntry } from './packed.ts';
import { EventGroups } from './groups.ts';

/** Every action the audit log records (the `action` filter of `GET /v1/audit` takes one of these). */
export const AUDIT_ACTIONS = [
  'integration.create', 'integration.update', 'integration.delete',
  'connect_session.create', 'connection.create', 'connection.connect_failed',
  'connection.reauthorize', 'connection.reauth_refused',
  'connection.delete', 'token.read', 'token.refresh', 'api_key.create', 'api_key.roll', 'api_key.revoke',
  'proxy.call', 'mcp.tool_call',
  'connection.share', 'connection.rename', 'connection.transfer',
  'org.create', 'member.invite', 'member.invite_revoke', 'member.join', 'member.role_change', 'member.remove',
  'member.sign_in', 'member.sign_out', 'login_link.create',
] as const;

export type AuditAction = typeof AUDIT_ACTIONS[number];

export interface Actor {
  type: AuditRecord['actorType'];
  id: string | null;
  /** The member an API key acts for; kept in the entry's detail as `member`. */
  memberId?: string | null;
}

export const SYSTEM_ACTOR: Actor = { type: 'system', id: null };

export interface AuditEvent {
  orgId: string;
  actor: Actor;
  action: AuditAction;
  outcome?: 'ok' | 'error';
  integrationId?: string | null;
  connectionId?: string | null;
  /** Safe facts only: ids, statuses, provider error codes. Never a token, secret or code. */
  detail?: Record<string, unknown>;
}

export interface AuditWriterOptions {
  /** Where batches are stored: `StoreAuditSink` on this thread, or `ThreadAuditSink`. */
  sink: AuditSink;
  clock: Clock;
  onError: (e: unknown) => void;
  flushIntervalMs?: number;
  maxBatch?: number;
  /** The member behind an API-key actor that did not say (the gateway's entries). */
  memberOfKey?: (keyId: string) => string | null;
  /**
   * How long events given to `recordRepeated` are gathered into one entry (default 1000 ms); 0
   * stores each as an entry of its own.
   */
  groupMs?: number;
}

/**
 * Append-only audit log, written in batches off the request path: `record` only queues; a timer
 * (or a full batch) hands the batch to the sink, which stores it — under `keyway serve`, on the
 * audit thread. Under `keyway serve` the audit thread also groups repeated events
 * (`recordRepeated`): each use costs this thread a few numbers written into a chunk
 * (`RepeatChunks`). Readers call `flush()` first so they see their own events.
 */
export class AuditWriter {
  readonly #opts: AuditWriterOptions;
  /** Open groups of `recordRepeated` events; their windows run on monotonic time. */
  readonly #groups: EventGroups | null;
  /** The sink, when it groups repeated events (the audit thread); this writer groups them otherwise. */
  readonly #repeated: RepeatedEventSink | null;
  readonly #pack = (e: AuditEvent, at: number): PackedEntry => this.#packed(e, at);
  #queue: PackedEntry[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();

  constructor(opts: AuditWriterOptions) {
    this.#opts = opts;
    const groupMs = opts.groupMs ?? 1000;
    this.#groups = groupMs > 0 ? new EventGroups(groupMs) : null;
    this.#repeated = groupMs > 0 ? opts.sink.repeated ?? null : null;
    this.#repeated?.adopt((taken) => {
      for (const t of taken) this.#groupHere(t.source as AuditEvent, t.at, t.durationMs);
    });
  }

  record(e: AuditEvent): void {
    this.#queued(this.#packed(e, this.#opts.clock.now()));
  }

  /**
   * An event that repeats often with nothing but its time changing (a token read, the same call
   * through the gateway with the same answer): within `groupMs` of the first, events with the same
   * organization, actor, action, outcome, integration, connection and detail are stored as one
   * entry, its detail `count` and `laterMs` (each later event's time in milliseconds after the
   * entry's `at`; see EventGroups). `durationMs`, for a call, is kept for each event: the entry's
   * `durationMs` is the first's, `laterDurationMs` the others'.
   *
   * A caller may pass the same event object again for a repeat (the gateway and `/token` keep the
   * event of the call they last recorded): it then joins its group without being packed or
   * compared. So an event given here is never changed afterwards.
   *
   * When the sink groups repeated events (`AuditSink.repeated`: the audit thread), each use is
   * handed to it as it is (see `RepeatChunks`) and grouped there the same way.
   */
  recordRepeated(e: AuditEvent, durationMs: number | null = null): void {
    const now = this.#opts.clock.now();
    if (this.#groups === null) {
      return this.#queued(this.#packed(durationMs === null ? e : { ...e, detail: { ...e.detail, durationMs } }, now));
    }
    if (this.#repeated?.add(e, now, durationMs, this.#pack)) return this.#arm();
    this.#groupHere(e, now, durationMs);
  }

  #groupHere(e: AuditEvent, at: number, durationMs: number | null): void {
    const again = this.#groups!.addAgain(e, at, durationMs);
    const full = again !== undefined ? again : this.#groups!.add(this.#packed(e, at), performance.now(), durationMs, e);
    if (full !== null) this.#queued(full);
    else this.#arm();
  }

  #packed(e: AuditEvent, at: number): PackedEntry {
    return [
      e.orgId, at, e.actor.type, e.actor.id, e.action, e.outcome ?? 'ok',
      e.integrationId ?? null, e.connectionId ?? null, e.detail ?? null, this.#member(e.actor),
    ];
  }

  #queued(entry: PackedEntry): void {
    this.#queue.push(entry);
    if (this.#queue.length >= (this.#opts.maxBatch ?? 500)) this.#send();
    else this.#arm();
  }

  /** The timer that hands over what is queued and closes the groups whose window has passed. */
  #arm(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#groups?.closeDue(performance.now(), this.#queue);
      this.#send();
      const unsent = this.#repeated?.send() ?? false;
      if (unsent || (this.#groups?.size ?? 0) > 0) this.#arm();
    }, this.#opts.flushIntervalMs ?? 50);
    this.#timer.unref();
  }

  /** Entries made through an API key carry the member it belongs to (who acted), stored in the detail. */
  #member(actor: Actor): string | null {
    if (actor.type !== 'api_key' || actor.id === null) return null;
    return actor.memberId ?? this.#opts.memberOfKey?.(actor.id) ?? null;
  }

  /**
   * Closes every group and hands what is queued to the sink; resolves once it and every earlier
   * batch is stored (or failed and logged).
   */
  flush(): Promise<void> {
    if (this.#timer) { clearTimeout(this.#timer); this.#timer = null; }
    this.#groups?.closeDue(Infinity, this.#queue);
    const sent = this.#send();
    const repeated = this.#repeated;
    if (repeated === null) return sent;
    // Events the sink gives back meanwhile (its thread lost) are grouped here: stored too before this resolves.
    return Promise.all([sent, repeated.flush()]).then(() => {
      this.#groups?.closeDue(Infinity, this.#queue);
      return this.#send();
    });
  }

  /** Hands what is queued to the sink (open groups stay open). */
  #send(): Promise<void> {
    const batch = this.#queue;
    if (batch.length === 0) return this.#flushing;
    this.#queue = [];
    const written = this.#opts.sink.write(batch).catch((e: unknown) => this.#opts.onError(e));
    this.#flushing = Promise.all([this.#flushing, written]).then(() => undefined);
    return this.#flushing;
  }

  /** Stores what is queued and closes the sink (the audit thread ends). */
  async close(): Promise<void> {
    await this.flush();
    await this.#opts.sink.close();
  }
}
