/**
 * The store contract, concurrency part: transactions (integration delete, audit batches, consume)
 * and plain calls run at once from one process must neither corrupt data nor block each other.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../../src/store/index.ts';
import { INT_A, INT_A2, ORG_A, T0, auditEntry, brokenAuditEntry, connectAttempt, connectSession, connection, ids, integration } from './store-fixtures.ts';

const pad = (i: number): string => String(i).padStart(2, '0');
const settle = (p: Promise<unknown>): Promise<'ok' | 'failed'> => p.then(() => 'ok' as const, () => 'failed' as const);

export function concurrencyContract(s: () => Store): void {
  describe('concurrent use', () => {
    test('50 parallel integration deletes and inserts, interleaved with reads and audit batches, leave a consistent store', async () => {
      for (let i = 0; i < 25; i++) await s().integrations.insert(integration(`old_${pad(i)}`));
      for (let i = 0; i < 5; i++) await s().connections.insert(connection(`conn_${pad(i)}`, { integrationId: `old_${pad(i)}` }));
      await s().connectSessions.insert(connectSession('cs_1'));
      for (let i = 0; i < 10; i++) await s().connectAttempts.insert(connectAttempt(`ca_${pad(i)}`, 'cs_1'));

      const deletes = Array.from({ length: 25 }, (_, i) => s().integrations.delete(ORG_A, `old_${pad(i)}`));
      const inserts = Array.from({ length: 25 }, (_, i) => s().integrations.insert(integration(`new_${pad(i)}`, { createdAt: T0 + 1 + i })));
      const audits = Array.from({ length: 25 }, (_, i) => s().audit.append([auditEntry(`au_${pad(i)}_a`), auditEntry(`au_${pad(i)}_b`)]));
      const failingAudits = Array.from({ length: 5 }, (_, i) => settle(s().audit.append([auditEntry(`bad_${pad(i)}`), brokenAuditEntry(`bad_${pad(i)}_b`)])));
      const consumes = Array.from({ length: 30 }, (_, i) => s().connectAttempts.consume(`state_ca_${pad(i % 10)}`, T0 + 1));
      const reads = Array.from({ length: 25 }, (_, i) => (i % 2 === 0
        ? s().integrations.list(ORG_A)
        : s().connections.list(ORG_A, {}, { limit: 10 })));
      const updates = Array.from({ length: 5 }, (_, i) => s().connections.replaceTokens(ORG_A, `conn_${pad(i)}`, { accessTokenEnc: `enc:at:${i}` }));

      const [deleted, , , failed, consumed, , updated] = await Promise.all([
        Promise.all(deletes), Promise.all(inserts), Promise.all(audits), Promise.all(failingAudits),
        Promise.all(consumes), Promise.all(reads), Promise.all(updates),
      ]);

      assert.deepEqual(deleted, [...Array<number>(5).fill(-1), ...Array<number>(20).fill(1)]);
      assert.deepEqual(failed, Array<string>(5).fill('failed'));
      assert.equal(consumed.filter((c) => c !== null).length, 10, 'each state redeemed exactly once');
      assert.deepEqual(updated, Array<number>(5).fill(1));
      const expected = [INT_A, INT_A2, ...Array.from({ length: 5 }, (_, i) => `old_${pad(i)}`), ...Array.from({ length: 25 }, (_, i) => `new_${pad(i)}`)];
      assert.deepEqual(new Set(ids(await s().integrations.list(ORG_A))), new Set(expected));
      const audit = await s().audit.query(ORG_A, {}, { limit: 1000 });
      assert.equal(audit.data.length, 50, 'every good batch stored whole, no failed batch stored at all');
      assert.ok(audit.data.every((e) => e.id.startsWith('au_')));
      for (let i = 0; i < 5; i++) assert.equal((await s().connections.get(ORG_A, `conn_${pad(i)}`))?.tokenVersion, 2);
    });

    test('an integration is never deleted from under a connection created at the same time', async () => {
      for (let i = 0; i < 20; i++) await s().integrations.insert(integration(`race_${pad(i)}`));
      const outcomes = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
        const id = `race_${pad(i)}`;
        const [del, ins] = await Promise.all([
          // A store may also refuse by failing the delete (a foreign key caught the race).
          s().integrations.delete(ORG_A, id).catch(() => 'failed' as const),
          settle(s().connections.insert(connection(`conn_${pad(i)}`, { integrationId: id }))),
        ]);
        return { id, del, ins };
      }));
      for (const { id, del, ins } of outcomes) {
        const integrationLeft = await s().integrations.get(ORG_A, id);
        const connectionLeft = (await s().connections.list(ORG_A, { integrationId: id }, { limit: 5 })).data;
        if (del === 1) {
          assert.equal(ins, 'failed', `${id}: deleted, so the connection could not be created`);
          assert.equal(integrationLeft, null);
          assert.equal(connectionLeft.length, 0);
        } else {
          assert.ok(del === -1 || del === 'failed', `${id}: delete refused, got ${String(del)}`);
          assert.equal(ins, 'ok');
          assert.notEqual(integrationLeft, null);
          assert.equal(connectionLeft.length, 1);
        }
      }
    });

    test('a failed transaction rolls back and the calls queued behind it still run', async () => {
      const results = await Promise.all([
        settle(s().audit.append([auditEntry('bad'), brokenAuditEntry('bad_b')])),
        s().integrations.insert(integration('after_1')),
        s().audit.append([auditEntry('good')]),
        s().integrations.delete(ORG_A, INT_A2),
        s().orgs.list(),
      ]);
      assert.equal(results[0], 'failed');
      assert.equal(results[3], 1);
      assert.notEqual(await s().integrations.get(ORG_A, 'after_1'), null);
      assert.equal(await s().integrations.get(ORG_A, INT_A2), null);
      assert.deepEqual(ids((await s().audit.query(ORG_A, {}, { limit: 10 })).data), ['good']);
    });
  });
}
