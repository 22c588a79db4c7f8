export { type Actor, type AuditAction, type AuditEvent, AuditWriter, SYSTEM_ACTOR } from './writer.ts';
export { AuditRetention, type RetentionOptions } from './retention.ts';
