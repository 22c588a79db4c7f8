import { type Principal, actorOf, isActorOf } from '../access/index.ts';
import type { AuditEvent } from '../audit/index.ts';
import type { ConnectionRecord } from '../store/index.ts';
import { auditPath } from './path.ts';

/**
 * The audit event of a call through the gateway: who (`principal`), through which connection (null
 * when none was found or allowed), the method, the path and query string as received (kept as the
 * path and the parameter names — never a value) and, when the provider answered, its status.
 */
export function callEvent(p: Principal, c: ConnectionRecord | null, method: string, path: string, query: string | null, status: number | null, retried: boolean): AuditEvent {
  const where = auditPath(path, query);
  const detail: Record<string, unknown> = { method, path: where.path, query: where.query };
  if (status !== null) {
    detail['status'] = status;
    detail['retried'] = retried;
  }
  return { orgId: p.orgId, actor: actorOf(p), action: 'proxy.call', outcome: 'ok', integrationId: c?.integrationId ?? null, connectionId: c?.id ?? null, detail };
}

/**
 * The audit event of one connection's last completed call, given again while the next call is the
 * same one (same key or member, method, path, query and answer): a busy caller repeating a call
 * then records the very same object, which the audit log adds to its open group without packing or
 * comparing it (`AuditWriter.recordRepeated`), and the call makes no event objects of its own. The
 * event is never changed once made.
 */
export class CallEventMemo {
  #event: AuditEvent | null = null;
  /** The path and query string it was made from (the event keeps only their audit form). */
  #path = '';
  #query: string | null = null;

  /** `callEvent` of these facts: the last one made when they are the same (the arguments as `callEvent`'s, not an object: no allocation per call). */
  for(p: Principal, c: ConnectionRecord, method: string, path: string, query: string | null, status: number, retried: boolean): AuditEvent {
    const e = this.#event;
    if (e !== null && path === this.#path && query === this.#query && e.detail!['status'] === status && e.detail!['retried'] === retried
      && e.detail!['method'] === method && e.connectionId === c.id && e.integrationId === c.integrationId && e.orgId === p.orgId && isActorOf(e.actor, p)) {
      return e;
    }
    const made = callEvent(p, c, method, path, query, status, retried);
    this.#event = made;
    this.#path = path;
    this.#query = query;
    return made;
  }
}
