/** Audit retention: entries older than the configured age are pruned in bounded batches; newer ones stay. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuditRetention } from '../src/audit/index.ts';
import { ManualClock } from '../src/core/clock.ts';
import { loadConfig } from '../src/core/config.ts';
import { openSqliteStore } from '../src/store/index.ts';
import { ORG_A, ORG_B, T0, auditEntry, seed } from './helpers/store-fixtures.ts';

const DAY = 86_400_000;

test('entries older than the retention age are pruned in batches, across organizations; newer ones stay', async () => {
  const store = openSqliteStore(':memory:');
  await store.migrate(T0);
  await seed(store);
  const clock = new ManualClock(T0 + 400 * DAY);
  const old = Array.from({ length: 55 }, (_, i) => auditEntry(`aud_old_a${i}`, { at: T0 + i }));
  const oldB = Array.from({ length: 5 }, (_, i) => auditEntry(`aud_old_b${i}`, { orgId: ORG_B, at: T0 + i }));
  const recent = Array.from({ length: 7 }, (_, i) => auditEntry(`aud_new_${i}`, { at: T0 + 100 * DAY + i }));
  await store.audit.append([...old, ...oldB, ...recent]);
  const retention = new AuditRetention({ store, clock, retentionDays: 365, batch: 10 });
  assert.equal(await retention.runOnce(), 60, 'appended in one batch of 67 (two multi-row inserts), 60 of them old');
  const left = await store.audit.query(ORG_A, {}, { limit: 100 });
  assert.deepEqual(left.data.map((e) => e.id).sort(), recent.map((e) => e.id).sort());
  assert.equal((await store.audit.query(ORG_B, {}, { limit: 100 })).data.length, 0);
  assert.equal(await retention.runOnce(), 0, 'nothing more to prune');
  await store.close();
});

test('one pass is bounded: at most maxBatches batches, the rest goes next time', async () => {
  const store = openSqliteStore(':memory:');
  await store.migrate(T0);
  await seed(store);
  await store.audit.append(Array.from({ length: 50 }, (_, i) => auditEntry(`aud_${i}`, { at: T0 + i })));
  const retention = new AuditRetention({ store, clock: new ManualClock(T0 + 400 * DAY), retentionDays: 365, batch: 10, maxBatches: 2 });
  assert.equal(await retention.runOnce(), 20);
  assert.equal((await store.audit.query(ORG_A, {}, { limit: 100 })).data.length, 30);
  await store.close();
});

test('the retention age comes from KEYWAY_AUDIT_RETENTION_DAYS (default 365) and a bad value says what to set', () => {
  assert.equal(loadConfig({}).auditRetentionDays, 365);
  assert.equal(loadConfig({ KEYWAY_AUDIT_RETENTION_DAYS: '30' }).auditRetentionDays, 30);
  assert.throws(() => loadConfig({ KEYWAY_AUDIT_RETENTION_DAYS: 'forever' }), /KEYWAY_AUDIT_RETENTION_DAYS must be a whole number above 0/);
});
