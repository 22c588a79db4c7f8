/**
 * The audit thread: `keyway serve` stores audit entries from a worker thread with its own
 * connection to the database, off the thread answering requests. Entries arrive in order, are
 * readable as soon as a reader flushes, survive a shutdown, and are never lost when the thread
 * cannot do its job.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type PackedEntry, type PendingAuditRecord, ThreadAuditSink, unpackEntry } from '../src/audit/index.ts';
import { cryptoRandom } from '../src/core/index.ts';
import { loadConfig } from '../src/core/config.ts';
import { type Store, openSqliteStore } from '../src/store/index.ts';
import { ORG_A, T0, auditEntry, brokenAuditEntry, connection } from './helpers/store-fixtures.ts';
import { withSeededSqlite } from './helpers/seeded-sqlite.ts';
import { startTestKeyway } from './helpers/keyway.ts';
import { call, spawnKeyway } from './helpers/processes.ts';

/** An entry as the writer queues it. */
function pack(e: PendingAuditRecord, member: string | null = null): PackedEntry {
  return [e.orgId, e.at, e.actorType, e.actorId, e.action, e.outcome, e.integrationId, e.connectionId, e.detail, member];
}

function pending(n: number, from = 0): PackedEntry[] {
  return Array.from({ length: n }, (_, i) => {
    const { id: _id, ...rest } = auditEntry('x', { at: T0 + from + i, detail: { n: from + i, path: '/items', query: ['page'] } });
    return pack(rest);
  });
}

interface SinkRun {
  store: Store;
  sink: ThreadAuditSink;
  /** What the sink told `onLost`. */
  lost: Error[];
}

/**
 * A migrated, seeded SQLite file and a ThreadAuditSink over it (the thread opening `databaseUrl`,
 * the file's own when null), its fallback the store on this thread; all closed and removed after.
 */
async function withThreadSink(databaseUrl: string | null, fn: (run: SinkRun) => Promise<void>): Promise<void> {
  await withSeededSqlite(async (store, dataDir) => {
    const lost: Error[] = [];
    const sink = new ThreadAuditSink({
      location: { databaseUrl, dataDir }, store, random: cryptoRandom, onLost: (e) => lost.push(e),
    });
    try {
      await fn({ store, sink, lost });
    } finally {
      await sink.close();
    }
  });
}

test('the audit thread is on by default and can be turned off with KEYWAY_AUDIT_THREAD=0', () => {
  assert.equal(loadConfig({}).auditThread, true);
  assert.equal(loadConfig({ KEYWAY_AUDIT_THREAD: '0' }).auditThread, false);
});

test('a packed batch comes back as the entries it was made from; an API key\'s member lands in the detail', () => {
  const { id: _id, ...plain } = auditEntry('x', { actorId: null, integrationId: null, connectionId: null, outcome: 'error' });
  const { id: _id2, ...byKey } = auditEntry('y', { actorType: 'api_key', actorId: 'key_1', detail: { status: 200 } });
  const batch = [...pending(3), pack(plain), pack(byKey, 'mem_1'), pack({ ...plain, detail: {} }), pack({ ...byKey, detail: {} }, 'mem_2')];
  batch[5]![8] = null; // no detail given
  batch[6]![8] = null; // no detail given, a member to add
  const back = structuredClone(batch).map((e, i) => unpackEntry(e, `aud_${i}`)); // as the thread receives them
  assert.deepEqual(back.slice(0, 4), [...pending(3).map((e, i) => unpackEntry(e, `aud_${i}`)), { ...plain, id: 'aud_3' }]);
  assert.deepEqual(back[4], { ...byKey, id: 'aud_4', detail: { status: 200, member: 'mem_1' } });
  assert.deepEqual(back[5], { ...plain, id: 'aud_5', detail: {} });
  assert.deepEqual(back[6], { ...byKey, id: 'aud_6', detail: { member: 'mem_2' } });
});

test('batches written through the thread are stored by it in the order they were sent, each with its own id', async () => {
  await withThreadSink(null, async ({ store, sink, lost }) => {
    const writes = Array.from({ length: 20 }, (_, b) => sink.write(pending(25, b * 25)));
    await Promise.all(writes);
    const page = await store.audit.query(ORG_A, {}, { limit: 1000 });
    assert.equal(page.data.length, 500);
    // Newest first: entry n is 499 - position, so the thread kept the order of the batches and within them.
    assert.deepEqual(page.data.map((e) => e.detail['n']), Array.from({ length: 500 }, (_, i) => 499 - i));
    assert.equal(new Set(page.data.map((e) => e.id)).size, 500);
    assert.ok(page.data.every((e) => /^aud_[A-Za-z0-9_-]{22}$/.test(e.id)));
    assert.deepEqual(page.data[0]!.detail, { n: 499, path: '/items', query: ['page'] });
    assert.deepEqual(lost, []);
  });
});

test('a batch the database refuses is reported, and the batches after it are still stored', async () => {
  await withThreadSink(null, async ({ store, sink }) => {
    const { id: _id, ...broken } = brokenAuditEntry('broken');
    const refused = sink.write([...pending(2), pack(broken)]);
    const after = sink.write(pending(3, 10));
    await assert.rejects(refused, /audit entries were not stored/);
    await after;
    const page = await store.audit.query(ORG_A, {}, { limit: 100 });
    assert.deepEqual(page.data.map((e) => e.detail['n']), [12, 11, 10]); // the refused batch was one transaction: none of it
  });
});

test('a batch holding a value that cannot be copied to the thread is stored on the main thread instead, and the thread carries on', async () => {
  await withThreadSink(null, async ({ store, sink, lost }) => {
    const [odd] = pending(1, 100);
    odd![8] = { n: 100, note: 'kept', notData: () => 'left out' };
    await sink.write([odd!]);
    await sink.write(pending(1, 101));
    const page = await store.audit.query(ORG_A, {}, { limit: 10 });
    assert.deepEqual(page.data.map((e) => e.detail), [{ n: 101, path: '/items', query: ['page'] }, { n: 100, note: 'kept' }]);
    assert.deepEqual(lost, []);
  });
});

test('when the audit thread cannot open the database, every entry is stored on the main thread and the reason is told once', async () => {
  // A location the thread cannot open (only postgres:// URLs or the data directory's file are stores).
  await withThreadSink('mysql://127.0.0.1:1/keyway', async ({ store, sink, lost }) => {
    await Promise.all([sink.write(pending(5)), sink.write(pending(5, 5))]);
    await sink.write(pending(5, 10)); // after the thread is gone: straight to the fallback
    const page = await store.audit.query(ORG_A, {}, { limit: 100 });
    assert.deepEqual(page.data.map((e) => e.detail['n']), Array.from({ length: 15 }, (_, i) => 14 - i));
    assert.equal(lost.length, 1);
    assert.match(lost[0]!.message, /The audit thread stopped \(.*KEYWAY_DATABASE_URL.*\); audit entries are written on the main thread from now on\./);
  });
});

test('asked again, the thread answers what the database has now: a change or a deletion made meanwhile by another connection is in the next answer', async () => {
  await withThreadSink(null, async ({ store, sink }) => {
    for (const id of ['conn_1', 'conn_2', 'conn_3']) await store.connections.insert(connection(id));
    const ids = ['conn_1', 'conn_2', 'conn_3'];
    const held = await store.connections.stamps(ids);
    const stamps = ids.map((id) => held.get(id)!);
    assert.deepEqual(await sink.changed(ids, stamps), [], 'as the cache holds them: nothing changed');
    assert.deepEqual(await sink.changed(ids, stamps), [], 'asked again, nothing committed: the same answer');
    await store.connections.update(ORG_A, 'conn_1', { status: 'refresh_failing', updatedAt: T0 + 9 });
    await store.connections.delete(ORG_A, 'conn_2');
    assert.deepEqual(await sink.changed(ids, stamps), ['conn_1', 'conn_2'], 'the update and the deletion, not the untouched conn_3');
  });
});

test('the thread answers the token cache\'s re-check with the ids whose stamps the database no longer has; lost, the main thread answers', async () => {
  await withThreadSink(null, async ({ store, sink }) => {
    for (const id of ['conn_1', 'conn_2', 'conn_3']) await store.connections.insert(connection(id));
    const before = await store.connections.stamps(['conn_1', 'conn_2', 'conn_3']);
    await store.connections.update(ORG_A, 'conn_2', { tokenVersion: 7, updatedAt: T0 + 5 });
    await store.connections.delete(ORG_A, 'conn_3');
    const ids = ['conn_1', 'conn_2', 'conn_3', 'conn_never'];
    assert.deepEqual(await sink.changed(ids, ids.map((id) => before.get(id) ?? 'none')), ['conn_2', 'conn_3', 'conn_never']);
    const now = await store.connections.stamps(['conn_2']);
    assert.match(now.get('conn_2')!, /^7\|/);
    assert.deepEqual(await sink.changed(['conn_2'], [now.get('conn_2')!]), []);
  });
  await withThreadSink('mysql://127.0.0.1:1/keyway', async ({ store, sink, lost }) => {
    await store.connections.insert(connection('conn_1'));
    const held = (await store.connections.stamps(['conn_1'])).get('conn_1')!;
    assert.deepEqual(await sink.changed(['conn_1', 'conn_never'], [held, 'none']), ['conn_never']);
    await sink.write(pending(1)); // by now the thread is known lost, whichever came first
    assert.equal(lost.length, 1);
  });
});

test('with the audit thread on or off, every gateway call and token read is in /v1/audit as soon as it is asked for', async () => {
  for (const thread of ['1', '0']) {
    const t = await startTestKeyway({ env: { KEYWAY_AUDIT_THREAD: thread } });
    try {
      const calls = await Promise.all(Array.from({ length: 120 }, (_, i) =>
        fetch(`${t.kw.url}/v1/proxy/conn_missing${i}/items?page=2`, { headers: { authorization: `Bearer ${t.apiKey}` } }).then((r) => r.status)));
      assert.ok(calls.every((s) => s === 404));
      const audit = await t.api('GET', '/v1/audit?action=proxy.call&limit=200');
      assert.equal(audit.status, 200);
      assert.equal(audit.body.data.length, 120, `KEYWAY_AUDIT_THREAD=${thread}`);
      const requested = new Set(audit.body.data.map((e: { detail: { requestedConnection: string } }) => e.detail.requestedConnection));
      assert.equal(requested.size, 120);
      assert.deepEqual(audit.body.data[0].detail.query, ['page']);
      assert.equal(audit.body.data[0].outcome, 'error');
    } finally {
      await t.close();
    }
  }
});

test('entries recorded just before `keyway serve` is stopped (SIGTERM) are in the database after it exits', async () => {
  const kw = await spawnKeyway({});
  const key = kw.bootstrapKey();
  const calls = 300;
  const statuses = await Promise.all(Array.from({ length: calls }, (_, i) =>
    fetch(`${kw.url}/v1/proxy/conn_gone${i}/x`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status)));
  assert.ok(statuses.every((s) => s === 404));
  const created = await call(kw.url, key, 'POST', '/v1/api-keys', { name: 'last one' });
  assert.equal(created.status, 201);
  await kw.kill('SIGTERM', { keepData: true });
  assert.equal(kw.child.exitCode, 0, kw.output());
  assert.match(kw.output(), /Stopping: finishing the calls in flight \(at most 10 s; Ctrl-C again to stop at once\)/);
  const store = openSqliteStore(join(kw.dataDir, 'keyway.db'));
  try {
    const orgId = (await store.orgs.list())[0]!.id;
    const proxied = await store.audit.query(orgId, { action: 'proxy.call' }, { limit: 1000 });
    assert.equal(proxied.data.length, calls, kw.output());
    const keys = await store.audit.query(orgId, { action: 'api_key.create' }, { limit: 10 });
    assert.equal(keys.data[0]?.detail["key"], created.body.id, kw.output()); // the last thing done before SIGTERM
  } finally {
    await store.close();
    rmSync(kw.dataDir, { recursive: true, force: true });
  }
});
