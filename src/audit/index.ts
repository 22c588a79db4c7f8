export { AUDIT_ACTIONS, type Actor, type AuditAction, type AuditEvent, AuditWriter, SYSTEM_ACTOR } from './writer.ts';
export { AuditRetention, type RetentionOptions } from './retention.ts';
export { type AuditSink, type PendingAuditRecord, StoreAuditSink } from './sink.ts';
export { ThreadAuditSink } from './thread-sink.ts';
export { readChanged } from './stamp-cache.ts';
export { type PackedEntry, unpackEntry } from './packed.ts';
