import type { SqlExecutor } from '../sql/executor.ts';
import * as t from '../sql/tables.ts';
import type { IntegrationRecord } from '../records.ts';
import { insertRecord, selectMany, selectOne, updateWhere } from './common.ts';

export function integrationRepo(sql: SqlExecutor) {
  return {
    insert: (r: IntegrationRecord) => insertRecord(sql, t.integrations, r),
    get: (orgId: string, id: string) => selectOne(sql, t.integrations, 'org_id = ? AND id = ?', [orgId, id]),
    /** By id alone: for the OAuth callback, whose URL names the integration but carries no org. */
    getById: (id: string) => selectOne(sql, t.integrations, 'id = ?', [id]),
    list: (orgId: string) => selectMany(sql, t.integrations, 'WHERE org_id = ? ORDER BY created_at, id', [orgId]),
    update: (orgId: string, id: string, patch: Partial<IntegrationRecord>) =>
      updateWhere(sql, t.integrations, patch, 'org_id = ? AND id = ?', [orgId, id]),
    /**
     * Deletes the integration with its connect sessions; refuses (returns -1) while connections remain,
     * returns 0 when the organization has no such integration (and then touches nothing).
     */
    delete: (orgId: string, id: string) =>
      sql.transaction(async (tx) => {
        const own = await tx.all('SELECT 1 FROM integrations WHERE org_id = ? AND id = ?', [orgId, id]);
        if (own.length === 0) return 0;
        const left = await tx.all('SELECT 1 FROM connections WHERE integration_id = ? LIMIT 1', [id]);
        if (left.length > 0) return -1;
        await tx.run('DELETE FROM connect_attempts WHERE org_id = ? AND integration_id = ?', [orgId, id]);
        await tx.run('DELETE FROM connect_sessions WHERE org_id = ? AND integration_id = ?', [orgId, id]);
        return tx.run('DELETE FROM integrations WHERE org_id = ? AND id = ?', [orgId, id]);
      }),
  };
}
