/**
 * Runs the one store contract suite against every store implementation. A PostgreSQL store is one
 * more `storeContract('postgres', …)` call whose `open` hands out an empty database (or schema).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { openSqliteStore } from '../src/store/index.ts';
import { storeContract } from './helpers/store-contract.ts';
import { auditEntry } from './helpers/store-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'keyway-store-contract-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const tempFile = (): string => join(dir, `store-${++files}`, 'keyway.db');

storeContract('sqlite (file)', async () => openSqliteStore(tempFile()));
storeContract('sqlite (:memory:)', async () => openSqliteStore(':memory:'));

describe('sqlite store (file) with another process on the same file', () => {
  test('dataVersion moves when another connection commits, and not for this connection\'s own commits', async () => {
    const file = tempFile();
    const store = openSqliteStore(file);
    await store.migrate(1);
    const other = new DatabaseSync(file);
    try {
      const v0 = await store.dataVersion();
      assert.equal(typeof v0, 'number');
      await store.audit.append([auditEntry('au_own')]);
      assert.equal(await store.dataVersion(), v0, 'its own commit');
      other.exec(`INSERT INTO orgs (id, name, created_at) VALUES ('org_other', 'Other', 1)`);
      assert.notEqual(await store.dataVersion(), v0, 'another connection\'s commit');
    } finally {
      other.close();
      await store.close();
    }
  });

  test('a transaction that cannot start because another process holds the write lock fails, and the store keeps working', async () => {
    const file = tempFile();
    const store = openSqliteStore(file);
    await store.migrate(1);
    const other = new DatabaseSync(file);
    try {
      other.exec('BEGIN IMMEDIATE');
      // The store waits out its busy timeout (5 s), then gives up.
      await assert.rejects(store.audit.append([auditEntry('au_1')]), /locked|busy/i);
      other.exec('ROLLBACK');
      await store.audit.append([auditEntry('au_2')]);
      assert.deepEqual((await store.audit.query('org_a', {}, { limit: 10 })).data.map((e) => e.id), ['au_2']);
    } finally {
      other.close();
      await store.close();
    }
  });
});
