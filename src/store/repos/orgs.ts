import type { SqlExecutor } from '../sql/executor.ts';
import * as t from '../sql/tables.ts';
import type { ApiKeyRecord, DataKeyRecord, OrgRecord } from '../records.ts';
import { encodeCursor, requireCursor } from '../sql/executor.ts';
import type { SqlValue } from '../sql/table.ts';
import { type Page, type PageResult, insertRecord, selectMany, selectOne, updateWhere } from './common.ts';

/**
 * Takes the organization's row lock for the rest of the transaction (a row lock on PostgreSQL;
 * SQLite transactions are serial anyway). Member removal and role changes take it first, and so
 * do key creation and rolls, so a key is never added for a member being removed meanwhile.
 */
export async function lockOrg(tx: SqlExecutor, orgId: string): Promise<void> {
  await tx.run('UPDATE orgs SET name = name WHERE id = ?', [orgId]);
}

/** Whether the member still belongs to the organization (inside a transaction holding `lockOrg`). */
async function isCurrentMember(tx: SqlExecutor, orgId: string, memberId: string): Promise<boolean> {
  return (await tx.all('SELECT 1 AS one FROM members WHERE org_id = ? AND id = ? AND removed_at IS NULL', [orgId, memberId])).length > 0;
}

/** How a roll ended: done; refused because the old key was revoked or rolled; or its member was removed. */
export type RollOutcome = 'rolled' | 'key_ended' | 'member_removed';

/**
 * Whose API keys a caller sees: always their member's own; of other members' keys none, those of
 * members who are not owners, or all.
 */
export interface ApiKeyVisibility {
  memberId: string;
  others: 'none' | 'non_owners' | 'all';
}

/** The condition (after `AND`) limiting api_keys rows to what `v` sees; none for `all`. */
function visibleTo(orgId: string, v: ApiKeyVisibility | undefined): { where: string; params: SqlValue[] } {
  if (v === undefined || v.others === 'all') return { where: '', params: [] };
  if (v.others === 'none') return { where: ' AND member_id = ?', params: [v.memberId] };
  return {
    where: " AND (member_id = ? OR member_id IN (SELECT id FROM members WHERE org_id = ? AND role <> 'owner'))",
    params: [v.memberId, orgId],
  };
}

export function orgRepo(sql: SqlExecutor) {
  return {
    insert: (r: OrgRecord) => insertRecord(sql, t.orgs, r),
    get: (id: string) => selectOne(sql, t.orgs, 'id = ?', [id]),
    list: () => selectMany(sql, t.orgs, 'ORDER BY created_at, id', []),
  };
}

export function apiKeyRepo(sql: SqlExecutor) {
  return {
    insert: (r: ApiKeyRecord) => insertRecord(sql, t.apiKeys, r),
    /**
     * Inserts the key only while its member is a current member of its organization, in one
     * transaction that queues behind member removal (`lockOrg`): false, and nothing written, once
     * the member is removed — however recently another process still saw them.
     */
    insertForMember: (r: ApiKeyRecord): Promise<boolean> =>
      sql.transaction(async (tx) => {
        await lockOrg(tx, r.orgId);
        if (!(await isCurrentMember(tx, r.orgId, r.memberId))) return false;
        await insertRecord(tx, t.apiKeys, r);
        return true;
      }),
    findByHash: (hash: string) => selectOne(sql, t.apiKeys, 'hash = ?', [hash]),
    /** One key; with `seenBy`, only one that caller sees (null otherwise). */
    get: (orgId: string, id: string, seenBy?: ApiKeyVisibility) => {
      const v = visibleTo(orgId, seenBy);
      return selectOne(sql, t.apiKeys, `org_id = ? AND id = ?${v.where}`, [orgId, id, ...v.params]);
    },
    list: (orgId: string) => selectMany(sql, t.apiKeys, 'WHERE org_id = ? ORDER BY created_at DESC, id DESC', [orgId]),
    /** Newest first, keyset-paginated like every list; with `seenBy`, only the keys that caller sees (full pages). */
    async page(orgId: string, page: Page, seenBy?: ApiKeyVisibility): Promise<PageResult<ApiKeyRecord>> {
      const c = page.cursor ? requireCursor(page.cursor, 2) : null;
      const v = visibleTo(orgId, seenBy);
      const rows = c
        ? await selectMany(sql, t.apiKeys, `WHERE org_id = ?${v.where} AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?`,
          [orgId, ...v.params, Number(c[0]), Number(c[0]), String(c[1]), page.limit + 1])
        : await selectMany(sql, t.apiKeys, `WHERE org_id = ?${v.where} ORDER BY created_at DESC, id DESC LIMIT ?`, [orgId, ...v.params, page.limit + 1]);
      const data = rows.slice(0, page.limit);
      const last = data[data.length - 1];
      return { data, nextCursor: rows.length > page.limit && last ? encodeCursor([last.createdAt, last.id]) : null };
    },
    revoke: (orgId: string, id: string, at: number) =>
      updateWhere(sql, t.apiKeys, { revokedAt: at }, 'org_id = ? AND id = ? AND revoked_at IS NULL', [orgId, id]),
    touch: (id: string, at: number) => updateWhere(sql, t.apiKeys, { lastUsedAt: at }, 'id = ?', [id]),
    /**
     * Rolls key `id` into `successor` in one transaction: the old key gets `replacedBy` and its end
     * (`revokedAt` now, or a later `expiresAt`) and the successor is inserted — only while the
     * successor's member is current (as `insertForMember`) and the old key is neither revoked nor
     * already rolled. Otherwise nothing is written and the outcome says why: of two rolls at once, one wins.
     */
    roll: (orgId: string, id: string, successor: ApiKeyRecord, end: { revokedAt: number } | { expiresAt: number }): Promise<RollOutcome> =>
      sql.transaction(async (tx) => {
        await lockOrg(tx, orgId);
        const live = 'org_id = ? AND id = ? AND revoked_at IS NULL AND replaced_by IS NULL';
        if (!(await selectOne(tx, t.apiKeys, live, [orgId, id]))) return 'key_ended';
        if (!(await isCurrentMember(tx, orgId, successor.memberId))) return 'member_removed';
        // Revoking a key takes no lock: it may still have happened since the read above.
        if ((await updateWhere(tx, t.apiKeys, { ...end, replacedBy: successor.id }, live, [orgId, id])) === 0) return 'key_ended';
        await insertRecord(tx, t.apiKeys, successor);
        return 'rolled';
      }),
  };
}

/** Implements the vault's DataKeyRepository. */
export function dataKeyRepo(sql: SqlExecutor) {
  return {
    listDataKeys: (orgId: string) => selectMany(sql, t.dataKeys, 'WHERE org_id = ? ORDER BY created_at, id', [orgId]),
    listAllDataKeys: () => selectMany(sql, t.dataKeys, 'ORDER BY created_at, id', []),
    insertDataKey: (r: DataKeyRecord) => insertRecord(sql, t.dataKeys, r),
    updateDataKeyWrapping: async (id: string, masterKid: string, wrapped: string): Promise<void> => {
      await updateWhere(sql, t.dataKeys, { masterKid, wrapped }, 'id = ?', [id]);
    },
  };
}
