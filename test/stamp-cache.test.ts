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

test('stamps are read once and reused until another connection commits; then re-read, and only the changed or deleted ids come back', async () => {
  const file = join(dir, 'keyway.db');
  const writer = openSqliteStore(file); // "the main thread" (or another process)
  const reader = openSqliteStore(file); // "the audit thread": never writes connections
  try {
    await writer.migrate(T0);
    await seed(writer);
    for (const id of ['conn_1', 'conn_2', 'conn_3']) await writer.connections.insert(connection(id));
    const held = await writer.connections.stamps(['conn_1', 'conn_2', 'conn_3']); // what the token cache holds
    const stampsOf = (ids: string[]): string[] => ids.map((id) => held.get(id) ?? 'never-stored');
    const reads: string[][] = [];
    const cache = new StampCache(async (ids) => { reads.push(ids); return reader.connections.stamps(ids); }, () => reader.dataVersion());

    const ids = ['conn_1', 'conn_2', 'conn_never'];
    assert.deepEqual(await cache.changed(ids, stampsOf(ids)), ['conn_never'], 'a connection that does not exist never matches');
    assert.deepEqual(await cache.changed(['conn_2', 'conn_1'], stampsOf(['conn_2', 'conn_1'])), [], 'nothing committed since: nothing changed');
    assert.equal(reads.length, 1, 'and nothing read');
    assert.deepEqual(await cache.changed(['conn_1'], ['an-older-stamp']), ['conn_1'], 'a stamp the store no longer has: changed');

    await writer.connections.insert(connection('conn_4'));
    await cache.changed(['conn_1'], stampsOf(['conn_1']));
    assert.deepEqual(reads.slice(1), [['conn_1']], 'a commit elsewhere: read again');

    await writer.connections.update(ORG_A, 'conn_1', { tokenVersion: 9, updatedAt: T0 + 1 });
    await writer.connections.delete(ORG_A, 'conn_2');
    const all = ['conn_1', 'conn_2', 'conn_3'];
    assert.deepEqual(await cache.changed(all, stampsOf(all)), ['conn_1', 'conn_2'], 'an update and a deletion elsewhere; conn_3 untouched');
    const now = await reader.connections.stamps(['conn_1']);
    assert.deepEqual(await cache.changed(['conn_1', 'conn_3', 'conn_4'], [now.get('conn_1')!, held.get('conn_3')!, 'x']), ['conn_4']);
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
    const stamp = (await store.connections.stamps(['conn_1'])).get('conn_1')!;
    let reads = 0;
    const cache = new StampCache(async (ids) => { reads++; return store.connections.stamps(ids); }, async () => null);
    assert.deepEqual(await cache.changed(['conn_1'], [stamp]), []);
    await store.connections.delete(ORG_A, 'conn_1');
    assert.deepEqual(await cache.changed(['conn_1'], [stamp]), ['conn_1']);
    assert.equal(reads, 2);
  } finally {
    await store.close();
  }
});

test('more ids than it keeps: it forgets what it knew and reads them all again, and still answers right', async () => {
  const store = openSqliteStore(':memory:');
  try {
    await store.migrate(T0);
    await seed(store);
    for (const id of ['conn_1', 'conn_2', 'conn_3']) await store.connections.insert(connection(id));
    const held = await store.connections.stamps(['conn_1', 'conn_2', 'conn_3']);
    const reads: string[][] = [];
    const cache = new StampCache(async (ids) => { reads.push(ids); return store.connections.stamps(ids); }, () => store.dataVersion(), 2);
    assert.deepEqual(await cache.changed(['conn_1', 'conn_2'], [held.get('conn_1')!, held.get('conn_2')!]), []);
    assert.deepEqual(await cache.changed(['conn_2', 'conn_3'], [held.get('conn_2')!, 'stale']), ['conn_3']);
    assert.deepEqual(reads, [['conn_1', 'conn_2'], ['conn_2', 'conn_3']], 'over the bound: everything asked about read again');
  } finally {
    await store.close();
  }
});
