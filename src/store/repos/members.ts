import type { SqlExecutor } from '../sql/executor.ts';
import * as t from '../sql/tables.ts';
import type { MemberRecord, Role } from '../records.ts';
import { insertRecord, selectMany, selectOne, updateWhere } from './common.ts';
import { lockOrg } from './orgs.ts';

/** What removing a member ended at once. */
export interface RemovedMember {
  revokedKeyIds: string[];
  endedSessions: number;
  /** Their connect and re-authentication links still pending, now ended `failed` with error `member_removed`. */
  endedConnectSessions: number;
}

/** The `error` of a connect session ended because the member who started it was removed. */
export const MEMBER_REMOVED = 'member_removed';

/**
 * The owner guard every role change and removal goes through, in one transaction: the
 * organization's row is locked first (`lockOrg`), so concurrent changes in one organization queue
 * and the count of owners cannot go stale.
 */
async function ownersLeftAfter(tx: SqlExecutor, orgId: string, memberId: string): Promise<number> {
  await lockOrg(tx, orgId);
  const rows = await tx.all(
    "SELECT COUNT(*) AS n FROM members WHERE org_id = ? AND role = 'owner' AND removed_at IS NULL AND id <> ?", [orgId, memberId]);
  return Number(rows[0]?.['n'] ?? 0);
}

export function memberRepo(sql: SqlExecutor) {
  return {
    insert: (r: MemberRecord) => insertRecord(sql, t.members, r),
    /** Current and former members alike (a former member still names who authorized a connection). */
    get: (orgId: string, id: string) => selectOne(sql, t.members, 'org_id = ? AND id = ?', [orgId, id]),
    /** Current members, oldest first. */
    list: (orgId: string) => selectMany(sql, t.members, 'WHERE org_id = ? AND removed_at IS NULL ORDER BY created_at, id', [orgId]),
    /** Current and former members, oldest first. */
    listAll: (orgId: string) => selectMany(sql, t.members, 'WHERE org_id = ? ORDER BY created_at, id', [orgId]),
    /** Current members with this email (any case), across organizations, oldest first. */
    findByEmail: (email: string) =>
      selectMany(sql, t.members, 'WHERE LOWER(email) = ? AND removed_at IS NULL ORDER BY created_at, id', [email.toLowerCase()]),
    /** Current members who sign in with this OIDC identity, across organizations, oldest first. */
    findByIdentity: (issuer: string, subject: string) =>
      selectMany(sql, t.members, 'WHERE oidc_issuer = ? AND oidc_subject = ? AND removed_at IS NULL ORDER BY created_at, id', [issuer, subject]),
    /** Records the identity a member signed in with; only while none is recorded (returns rows changed). */
    setIdentity: (orgId: string, id: string, issuer: string, subject: string) =>
      updateWhere(sql, t.members, { oidcIssuer: issuer, oidcSubject: subject }, 'org_id = ? AND id = ? AND oidc_subject IS NULL AND removed_at IS NULL', [orgId, id]),

    /**
     * Changes a current member's role. Returns 'changed', 'missing', or 'last_owner' when the
     * member is the organization's only owner and the new role is not owner (nothing changed then).
     */
    async setRole(orgId: string, id: string, role: Role): Promise<'changed' | 'missing' | 'last_owner'> {
      return sql.transaction(async (tx) => {
        const m = await selectOne(tx, t.members, 'org_id = ? AND id = ? AND removed_at IS NULL', [orgId, id]);
        if (!m) return 'missing';
        if (m.role === 'owner' && role !== 'owner' && (await ownersLeftAfter(tx, orgId, id)) === 0) return 'last_owner';
        await updateWhere(tx, t.members, { role }, 'org_id = ? AND id = ?', [orgId, id]);
        return 'changed';
      });
    },

    /**
     * Removes a member in one transaction: marks the row removed, revokes every API key of theirs,
     * ends their sessions and pending connect sessions, and drops their unused sign-in links. Refuses the last owner. It holds the
     * organization's lock from the start, so a key being added for the member meanwhile is either
     * stored first (and revoked here) or refused (`apiKeys.insertForMember`).
     */
    async remove(orgId: string, id: string, at: number): Promise<RemovedMember | 'missing' | 'last_owner'> {
      return sql.transaction(async (tx) => {
        await lockOrg(tx, orgId);
        const m = await selectOne(tx, t.members, 'org_id = ? AND id = ? AND removed_at IS NULL', [orgId, id]);
        if (!m) return 'missing';
        if (m.role === 'owner' && (await ownersLeftAfter(tx, orgId, id)) === 0) return 'last_owner';
        const keys = await tx.all('SELECT id FROM api_keys WHERE org_id = ? AND member_id = ? AND revoked_at IS NULL', [orgId, id]);
        await tx.run('UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND member_id = ? AND revoked_at IS NULL', [at, orgId, id]);
        const endedSessions = await tx.run('DELETE FROM sessions WHERE org_id = ? AND member_id = ?', [orgId, id]);
        await tx.run('DELETE FROM login_links WHERE org_id = ? AND member_id = ?', [orgId, id]);
        const endedConnectSessions = await updateWhere(tx, t.connectSessions, { status: 'failed', error: MEMBER_REMOVED, deviceCodeEnc: null, nextPollAt: null },
          "org_id = ? AND created_by_member_id = ? AND status = 'pending'", [orgId, id]);
        await updateWhere(tx, t.members, { removedAt: at }, 'org_id = ? AND id = ?', [orgId, id]);
        return { revokedKeyIds: keys.map((k) => String(k['id'])), endedSessions, endedConnectSessions };
      });
    },
  };
}
