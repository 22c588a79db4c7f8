import type { SqlExecutor } from '../sql/executor.ts';
import * as t from '../sql/tables.ts';
import type { InviteRecord } from '../records.ts';
import { insertRecord, selectMany, selectOne, updateWhere } from './common.ts';

export function inviteRepo(sql: SqlExecutor) {
  return {
    insert: (r: InviteRecord) => insertRecord(sql, t.invites, r),
    get: (orgId: string, id: string) => selectOne(sql, t.invites, 'org_id = ? AND id = ?', [orgId, id]),
    getById: (id: string) => selectOne(sql, t.invites, 'id = ?', [id]),
    findByHash: (hash: string) => selectOne(sql, t.invites, 'token_hash = ?', [hash]),
    /** Invites not yet accepted or revoked (expired ones included: the list says so), newest first. */
    listOpen: (orgId: string) =>
      selectMany(sql, t.invites, 'WHERE org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL ORDER BY created_at DESC, id DESC', [orgId]),
    revoke: (orgId: string, id: string, at: number) =>
      updateWhere(sql, t.invites, { revokedAt: at }, 'org_id = ? AND id = ? AND accepted_at IS NULL AND revoked_at IS NULL', [orgId, id]),
    /**
     * Marks an invite accepted by `memberId`, only if it still is open and unexpired: an invite is
     * redeemed once, even by two acceptances racing. False when it was not.
     */
    accept: async (id: string, memberId: string, now: number): Promise<boolean> =>
      (await updateWhere(sql, t.invites, { acceptedAt: now, acceptedMemberId: memberId },
        'id = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?', [id, now])) === 1,
  };
}
