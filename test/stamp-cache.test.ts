import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../src/store/index.ts';
import { StampCache } from '../src/audit/stamp-cache.ts';
import { ORG_A, T0, connection, seed } from './helpers/store-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'keyway-stamp-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('stamps are read once and reused until another connection commits; then re-read, changes and deletions included', async () => {
  const file = join(dir, 'keyway.db');
  const writer = openSqliteStore(file); // "the main thread" (or another process)
  const reader = openSqliteStore(file); // "the audit thread": never writes connections
  try {
    await writer.migrate(T0);
    await seed(writer);
    for (const id of ['conn_1', 'conn_2']) await writer.connections.insert(connection(id));
    const reads: string[][] = [];
    const cache = new StampCache(async (ids) => { reads.push(ids); return reader.connections.stamps(ids); }, () => reader.dataVersion());

    const first = await cache.stamps(['conn_1', 'conn_2', 'conn_never']);
    assert.deepEqual(first, await reader.connections.stamps(['conn_1', 'conn_2']));
    assert.deepEqual(await cache.stamps(['conn_1', 'conn_never', 'conn_2']), first, 'nothing committed since: the same answer');
    assert.equal(reads.length, 1, 'and nothing read');

    await writer.connections.insert(connection('conn_3'));
    await cache.stamps(['conn_1']);
    assert.deepEqual(reads.slice(1), [['conn_1']], 'a commit elsewhere: read again');

    await writer.connections.update(ORG_A, 'conn_1', { tokenVersion: 9, updatedAt: T0 + 1 });
    await writer.connections.delete(ORG_A, 'conn_2');
    const now = await cache.stamps(['conn_1', 'conn_2', 'conn_3']);
    assert.match(now.get('conn_1')!, /^9\|/);
    assert.equal(now.has('conn_2'), false);
    assert.ok(now.has('conn_3'));
    assert.deepEqual(await cache.stamps(['conn_3', 'conn_4']), new Map([['conn_3', now.get('conn_3')!]]));
    assert.deepEqual(reads.at(-1), ['conn_4'], 'only a connection not asked about before is read');
  } finally {
    await reader.close();
    await writer.close();
  }
});

test('where the database cannot tell whether anything changed (PostgreSQL), every ask reads', async () => {
  const store = openSqliteStore(':memory:');
  try {
    await store.migrate(T0);
    await seed(store);
    await store.connections.insert(connection('conn_1'));
    let reads = 0;
    const cache = new StampCache(async (ids) => { reads++; return store.connections.stamps(ids); }, async () => null);
    await cache.stamps(['conn_1']);
    await cache.stamps(['conn_1']);
    assert.equal(reads, 2);
  } finally {
    await store.close();
  }
});
