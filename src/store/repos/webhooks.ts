import { type SqlExecutor, encodeCursor, requireCursor } from '../sql/executor.ts';
import * as t from '../sql/tables.ts';
import type { WebhookDeliveryRecord, WebhookEndpointRecord } from '../records.ts';
import { type Page, type PageResult, insertRecord, selectMany, selectOne, updateWhere } from './common.ts';

export function webhookRepo(sql: SqlExecutor) {
  return {
    insertEndpoint: (r: WebhookEndpointRecord) => insertRecord(sql, t.webhookEndpoints, r),
    getEndpoint: (orgId: string, id: string) => selectOne(sql, t.webhookEndpoints, 'org_id = ? AND id = ?', [orgId, id]),
    listEndpoints: (orgId: string) => selectMany(sql, t.webhookEndpoints, 'WHERE org_id = ? ORDER BY created_at, id', [orgId]),
    /** Deletes the endpoint and its pending deliveries (the delivered/failed log goes with it). */
    async deleteEndpoint(orgId: string, id: string): Promise<number> {
      return sql.transaction(async (tx) => {
        await tx.run('DELETE FROM webhook_deliveries WHERE org_id = ? AND endpoint_id = ?', [orgId, id]);
        return tx.run('DELETE FROM webhook_endpoints WHERE org_id = ? AND id = ?', [orgId, id]);
      });
    },

    insertDeliveries: async (rows: WebhookDeliveryRecord[]) => {
      if (rows.length === 0) return;
      await sql.transaction(async (tx) => {
        for (const r of rows) await insertRecord(tx, t.webhookDeliveries, r);
      });
    },
    getDelivery: (orgId: string, id: string) => selectOne(sql, t.webhookDeliveries, 'org_id = ? AND id = ?', [orgId, id]),
    async listDeliveries(orgId: string, endpointId: string, page: Page): Promise<PageResult<WebhookDeliveryRecord>> {
      const c = page.cursor ? requireCursor(page.cursor, 2) : null;
      const rows = await selectMany(sql, t.webhookDeliveries,
        `WHERE org_id = ? AND endpoint_id = ?${c ? ' AND (created_at < ? OR (created_at = ? AND id < ?))' : ''} ORDER BY created_at DESC, id DESC LIMIT ?`,
        c ? [orgId, endpointId, Number(c[0]), Number(c[0]), String(c[1]), page.limit + 1] : [orgId, endpointId, page.limit + 1]);
      const data = rows.slice(0, page.limit);
      const last = data[data.length - 1];
      return { data, nextCursor: rows.length > page.limit && last ? encodeCursor([last.createdAt, last.id]) : null };
    },

    /**
     * Claims up to `limit` due deliveries for this process for `leaseMs`: several processes never
     * send the same attempt twice. Returns the claimed rows.
     */
    async claimDue(now: number, limit: number, owner: string, leaseMs: number): Promise<WebhookDeliveryRecord[]> {
      const due = await selectMany(sql, t.webhookDeliveries,
        `WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at LIMIT ?`,
        [now, now, limit]);
      const claimed: WebhookDeliveryRecord[] = [];
      for (const d of due) {
        const n = await sql.run(
          `UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ? WHERE id = ? AND status = 'pending' AND (lease_until IS NULL OR lease_until < ?)`,
          [owner, now + leaseMs, d.id, now]);
        if (n === 1) claimed.push(d);
      }
      return claimed;
    },
    /** Records an attempt's outcome and releases the claim. */
    finishAttempt: (id: string, patch: Partial<WebhookDeliveryRecord>) =>
      updateWhere(sql, t.webhookDeliveries, patch, 'id = ?', [id], 'lease_owner = NULL, lease_until = NULL'),
    /** Queues a delivery again now (resend), whatever its state. */
    requeue: (orgId: string, id: string, now: number) =>
      updateWhere(sql, t.webhookDeliveries, { status: 'pending', nextAttemptAt: now, lastError: null }, 'org_id = ? AND id = ?', [orgId, id], 'lease_owner = NULL, lease_until = NULL'),
  };
}
