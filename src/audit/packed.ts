import type { NewAuditRecord } from '../store/index.ts';
import type { PendingAuditRecord } from './sink.ts';

/**
 * One audit entry as the writer queues it and the audit thread receives it: a tuple of plain
 * values, `orgId, at, actorType, actorId, action, outcome, integrationId, connectionId, detail,
 * member` (`member`: the member an API key acted for, added to the detail when stored). Queuing a
 * tuple costs the thread answering requests one small array per entry; the record object, and the
 * detail with the member merged in, are made by whoever stores it (on the audit thread, off the
 * request path). The batch is posted to the thread as it is: timed in the running server under
 * load, posting it cost 2.8–3.3 µs an entry, no more than packing it first into one JSON string
 * (2.9–4.0) or one flat list (3.2–3.3). (Those timings include the young-generation collections
 * that happen to start there, which is why they are well above the same copy timed alone, ≈ 0.8 µs.)
 */
export type PackedEntry = [
  orgId: string, at: number, actorType: PendingAuditRecord['actorType'], actorId: string | null, action: string,
  outcome: PendingAuditRecord['outcome'], integrationId: string | null, connectionId: string | null,
  detail: Record<string, unknown> | null, member: string | null,
];

/** The record a packed entry stands for, stored as `id`; the acting member, when there is one, lands in the detail. */
export function unpackEntry(p: PackedEntry, id: string): NewAuditRecord {
  const detail = p[8];
  return {
    id, orgId: p[0], at: p[1], actorType: p[2], actorId: p[3], action: p[4], outcome: p[5],
    integrationId: p[6], connectionId: p[7],
    detail: p[9] === null ? detail ?? {} : { ...detail, member: p[9] },
  };
}
