/**
 * The background scheduler asks, every pass in every process, what is due. With a million stored
 * connections a full scan per pass would cost seconds and pull the whole file into memory, so each
 * question must be answered from its partial index (migration 6). SQLite's planner says which.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../src/store/index.ts';
import { DUE_QUERIES } from '../src/store/repos/connections.ts';

test('every "what is due" query reads its partial index, never the whole connections table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyway-plans-'));
  const file = join(dir, 'keyway.db');
  const store = openSqliteStore(file);
  try {
    await store.migrate(1);
    const db = new DatabaseSync(file, { readOnly: true });
    const plan = (where: string, order: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM connections ${where} ORDER BY ${order} LIMIT ?`).all(0, 10) as Array<{ detail: string }>).map((r) => r.detail);
    const cases: Array<[string, string, string]> = [
      [DUE_QUERIES.expiring, 'expires_at', 'connections_due_expiry'],
      [DUE_QUERIES.idle, 'obtained_at', 'connections_due_idle'],
      [DUE_QUERIES.refreshExpired, 'refresh_expires_at', 'connections_due_reauth'],
      [DUE_QUERIES.expiredWithoutRefresh, 'expires_at', 'connections_due_expiry'],
    ];
    for (const [where, order, index] of cases) {
      const steps = plan(where, order);
      assert.ok(steps.some((d) => d.includes(`USING INDEX ${index}`)), `${where}: ${steps.join(' / ')}`);
      assert.ok(!steps.some((d) => d.startsWith('SCAN connections')), `no scan of the table or a whole index: ${steps.join(' / ')}`);
      assert.ok(!steps.some((d) => d.includes('TEMP B-TREE')), `no sort of the whole result: ${steps.join(' / ')}`);
    }
    db.close();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
