import type { Clock } from '../core/clock.ts';
import type { AuditRecord } from '../store/index.ts';
import type { AuditSink } from './sink.ts';
import type { PackedEntry } from './packed.ts';

export type AuditAction =
  | 'integration.create' | 'integration.update' | 'integration.delete'
  | 'connect_session.create' | 'connection.create' | 'connection.connect_failed'
  | 'connection.reauthorize' | 'connection.reauth_refused'
  | 'connection.delete' | 'token.read' | 'token.refresh' | 'api_key.create' | 'api_key.revoke'
  | 'proxy.call' | 'mcp.tool_call'
  | 'connection.share' | 'connection.rename' | 'connection.transfer'
  | 'org.create' | 'member.invite' | 'member.invite_revoke' | 'member.join' | 'member.role_change' | 'member.remove'
  | 'member.sign_in' | 'member.sign_out' | 'login_link.create';

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
}

/**
 * Append-only audit log, written in batches off the request path: `record` only queues; a timer
 * (or a full batch) hands the batch to the sink, which stores it — under `keyway serve`, on the
 * audit thread. Readers call `flush()` first so they see their own events.
 */
export class AuditWriter {
  readonly #opts: AuditWriterOptions;
  #queue: PackedEntry[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();

  constructor(opts: AuditWriterOptions) {
    this.#opts = opts;
  }

  record(e: AuditEvent): void {
    this.#queue.push([
      e.orgId, this.#opts.clock.now(), e.actor.type, e.actor.id, e.action, e.outcome ?? 'ok',
      e.integrationId ?? null, e.connectionId ?? null, e.detail ?? null, this.#member(e.actor),
    ]);
    if (this.#queue.length >= (this.#opts.maxBatch ?? 500)) void this.flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), this.#opts.flushIntervalMs ?? 50);
      this.#timer.unref();
    }
  }

  /** Entries made through an API key carry the member it belongs to (who acted), stored in the detail. */
  #member(actor: Actor): string | null {
    if (actor.type !== 'api_key' || actor.id === null) return null;
    return actor.memberId ?? this.#opts.memberOfKey?.(actor.id) ?? null;
  }

  /** Hands what is queued to the sink; resolves once it and every earlier batch is stored (or failed and logged). */
  flush(): Promise<void> {
    if (this.#timer) { clearTimeout(this.#timer); this.#timer = null; }
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
