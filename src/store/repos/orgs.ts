import type { SqlExecutor } from '../sql/executor.ts';
import * as t from '../sql/tables.ts';
import type { ApiKeyRecord, DataKeyRecord, OrgRecord } from '../records.ts';
import { encodeCursor, requireCursor } from '../sql/executor.ts';
import { type Page, type PageResult, insertRecord, selectMany, selectOne, updateWhere } from './common.ts';

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
    findByHash: (hash: string) => selectOne(sql, t.apiKeys, 'hash = ?', [hash]),
    get: (orgId: string, id: string) => selectOne(sql, t.apiKeys, 'org_id = ? AND id = ?', [orgId, id]),
    list: (orgId: string) => selectMany(sql, t.apiKeys, 'WHERE org_id = ? ORDER BY created_at DESC, id DESC', [orgId]),
    /** Newest first, keyset-paginated like every list. */
    async page(orgId: string, page: Page): Promise<PageResult<ApiKeyRecord>> {
      const c = page.cursor ? requireCursor(page.cursor, 2) : null;
      const rows = c
        ? await selectMany(sql, t.apiKeys, 'WHERE org_id = ? AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?',
          [orgId, Number(c[0]), Number(c[0]), String(c[1]), page.limit + 1])
        : await selectMany(sql, t.apiKeys, 'WHERE org_id = ? ORDER BY created_at DESC, id DESC LIMIT ?', [orgId, page.limit + 1]);
      const data = rows.slice(0, page.limit);
      const last = data[data.length - 1];
      return { data, nextCursor: rows.length > page.limit && last ? encodeCursor([last.createdAt, last.id]) : null };
    },
    revoke: (orgId: string, id: string, at: number) =>
      updateWhere(sql, t.apiKeys, { revokedAt: at }, 'org_id = ? AND id = ? AND revoked_at IS NULL', [orgId, id]),
    touch: (id: string, at: number) => updateWhere(sql, t.apiKeys, { lastUsedAt: at }, 'id = ?', [id]),
    /**
     * Rolls key `id` into `successor` in one transaction: the old key gets `replacedBy` and its end
     * (`revokedAt` now, or a later `expiresAt`) and the successor is inserted — only while the old
     * key is neither revoked nor already rolled. False (and nothing written) otherwise: of two rolls
     * at once, one wins.
     */
    roll: (orgId: string, id: string, successor: ApiKeyRecord, end: { revokedAt: number } | { expiresAt: number }): Promise<boolean> =>
      sql.transaction(async (tx) => {
        const changed = await updateWhere(tx, t.apiKeys, { ...end, replacedBy: successor.id }, 'org_id = ? AND id = ? AND revoked_at IS NULL AND replaced_by IS NULL', [orgId, id]);
        if (changed === 0) return false;
        await insertRecord(tx, t.apiKeys, successor);
        return true;
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
