import type { SqlExecutor } from '../sql/executor.ts';
import * as t from '../sql/tables.ts';
import type { SessionRecord } from '../records.ts';
import { insertRecord, selectOne, updateWhere } from './common.ts';

export function sessionRepo(sql: SqlExecutor) {
  return {
    insert: (r: SessionRecord) => insertRecord(sql, t.sessions, r),
    /** By the SHA-256 of the cookie's secret. */
    findByHash: (hash: string) => selectOne(sql, t.sessions, 'hash = ?', [hash]),
    get: (orgId: string, id: string) => selectOne(sql, t.sessions, 'org_id = ? AND id = ?', [orgId, id]),
    /** Records activity (the idle timeout counts from it). */
    touch: (id: string, at: number) => updateWhere(sql, t.sessions, { lastSeenAt: at }, 'id = ?', [id]),
    delete: (id: string) => sql.run('DELETE FROM sessions WHERE id = ?', [id]),
    /** Ends every session of a member (a role change does not; removal does, in the member repo). */
    deleteForMember: (orgId: string, memberId: string) =>
      sql.run('DELETE FROM sessions WHERE org_id = ? AND member_id = ?', [orgId, memberId]),
    /** Sessions past their absolute expiry or idle since `idleBefore`. */
    purgeExpired: (now: number, idleBefore: number) =>
      sql.run('DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at < ?', [now, idleBefore]),
  };
}
