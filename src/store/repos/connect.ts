import type { SqlExecutor } from '../sql/executor.ts';
import * as t from '../sql/tables.ts';
import type { ConnectAttemptRecord, ConnectSessionRecord, ConnectSessionStatus } from '../records.ts';
import { insertRecord, selectMany, selectOne, updateWhere } from './common.ts';

export function connectSessionRepo(sql: SqlExecutor) {
  return {
    insert: (r: ConnectSessionRecord) => insertRecord(sql, t.connectSessions, r),
    get: (orgId: string, id: string) => selectOne(sql, t.connectSessions, 'org_id = ? AND id = ?', [orgId, id]),
    getById: (id: string) => selectOne(sql, t.connectSessions, 'id = ?', [id]),
    findByTokenHash: (hash: string) => selectOne(sql, t.connectSessions, 'token_hash = ?', [hash]),
    update: (orgId: string, id: string, patch: Partial<ConnectSessionRecord>) =>
      updateWhere(sql, t.connectSessions, patch, 'org_id = ? AND id = ?', [orgId, id]),
    /**
     * Ends a session once (compare-and-set): the patch is written only while the session is still
     * pending and, given `liveAt`, has not expired by then. True when this call ended it; false when
     * something else ended it first (another tab's completion, a refusal, a member's removal) or it expired.
     */
    endIfPending: async (orgId: string, id: string, patch: Partial<ConnectSessionRecord> & { status: Exclude<ConnectSessionStatus, 'pending'> },
      liveAt?: number): Promise<boolean> =>
      (await updateWhere(sql, t.connectSessions, patch, `org_id = ? AND id = ? AND status = 'pending'${liveAt === undefined ? '' : ' AND expires_at > ?'}`,
        liveAt === undefined ? [orgId, id] : [orgId, id, liveAt])) === 1,
    /** Pending device-flow sessions whose next poll is due, across organizations, oldest first. */
    listDueDevicePolls: (now: number, limit: number) =>
      selectMany(sql, t.connectSessions,
        "WHERE grant_type = 'device_code' AND status = 'pending' AND next_poll_at <= ? ORDER BY next_poll_at, id LIMIT ?", [now, limit]),
    /**
     * Claims one poll of a device session: moves its next poll time on, but only if nobody else did
     * since it was read (so two pollers, in one process or several, never poll the same code at once).
     */
    claimDevicePoll: async (id: string, seenNextPollAt: number, nextPollAt: number): Promise<boolean> =>
      (await sql.run(
        "UPDATE connect_sessions SET next_poll_at = ? WHERE id = ? AND status = 'pending' AND next_poll_at = ?",
        [nextPollAt, id, seenNextPollAt])) === 1,
  };
}

export function connectAttemptRepo(sql: SqlExecutor) {
  return {
    insert: (r: ConnectAttemptRecord) => insertRecord(sql, t.connectAttempts, r),
    /**
     * Finds the attempt for a `state` and marks it used in the same statement, so a state can be
     * redeemed once only, even by two callbacks racing. Returns null if unknown or already used.
     */
    async consume(stateHash: string, now: number): Promise<ConnectAttemptRecord | null> {
      return sql.transaction(async (tx) => {
        const rec = await selectOne(tx, t.connectAttempts, 'state_hash = ?', [stateHash]);
        if (!rec || rec.usedAt !== null) return null;
        const n = await updateWhere(tx, t.connectAttempts, { usedAt: now }, 'id = ? AND used_at IS NULL', [rec.id]);
        return n === 1 ? { ...rec, usedAt: now } : null;
      });
    },
    listForSession: (orgId: string, sessionId: string) =>
      selectMany(sql, t.connectAttempts, 'WHERE org_id = ? AND session_id = ? ORDER BY created_at', [orgId, sessionId]),
    /** Attempts expire after 10 minutes; their rows (with the encrypted verifier) are then removed. */
    purgeExpired: (before: number) => sql.run('DELETE FROM connect_attempts WHERE expires_at < ?', [before]),
  };
}
