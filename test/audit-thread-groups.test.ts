/**
 * Repeated events (token reads, the same gateway call) grouped on the audit thread: the request
 * thread only hands each use over, and the thread stores the same entries the writer would have
 * made itself. None is lost when the thread cannot do its job.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type AuditEvent, type AuditSink, AuditWriter, StoreAuditSink, ThreadAuditSink } from '../src/audit/index.ts';
import { ManualClock, cryptoRandom } from '../src/core/index.ts';
import type { AuditRecord, Store } from '../src/store/index.ts';
import { INT_A, MEMBER_A, ORG_A, T0 } from './helpers/store-fixtures.ts';
import { withSeededSqlite } from './helpers/seeded-sqlite.ts';

interface Run {
  store: Store;
  writer: AuditWriter;
  clock: ManualClock;
  /** What the sink told `onLost`. */
  lost: Error[];
}

/**
 * A migrated, seeded SQLite file and a writer over a ThreadAuditSink (the thread opening
 * `databaseUrl`, the file's own when null), or over the store on this thread (`thread` false);
 * all closed and removed after.
 */
async function withWriter(opts: { thread: boolean; databaseUrl?: string; groupMs?: number }, fn: (run: Run) => Promise<void>): Promise<void> {
  await withSeededSqlite(async (store, dataDir) => {
    const lost: Error[] = [];
    const errors: unknown[] = [];
    const sink: AuditSink = opts.thread
      ? new ThreadAuditSink({ location: { databaseUrl: opts.databaseUrl ?? null, dataDir }, store, random: cryptoRandom, groupMs: opts.groupMs ?? 1000, onLost: (e) => lost.push(e), onError: (e) => errors.push(e) })
      : new StoreAuditSink(store, cryptoRandom);
    const clock = new ManualClock(T0);
    const writer = new AuditWriter({ sink, clock, onError: (e) => errors.push(e), groupMs: opts.groupMs ?? 1000 });
    try {
      await fn({ store, writer, clock, lost });
    } finally {
      await writer.close();
    }
    assert.deepEqual(errors, []);
  });
}

const read = (connectionId: string): AuditEvent => ({
  orgId: ORG_A, actor: { type: 'api_key', id: 'key_1', memberId: MEMBER_A }, action: 'token.read', integrationId: INT_A, connectionId,
});
const call = (connectionId: string): AuditEvent => ({
  orgId: ORG_A, actor: { type: 'api_key', id: 'key_1', memberId: MEMBER_A }, action: 'proxy.call', integrationId: INT_A, connectionId,
  detail: { method: 'GET', path: '/items', status: 200 },
});

/** Reads of conn_a at T0, +40 and +90; calls of conn_b at +5 (12 ms) and +60 (30 ms); one read of conn_c. */
function recordSome({ writer, clock }: Run): void {
  const a = read('conn_a');
  const b = call('conn_b');
  writer.recordRepeated(a);
  clock.set(T0 + 5);
  writer.recordRepeated(b, 12);
  clock.set(T0 + 40);
  writer.recordRepeated(a);
  clock.set(T0 + 60);
  writer.recordRepeated(b, 30);
  clock.set(T0 + 90);
  writer.recordRepeated(a);
  writer.recordRepeated(read('conn_c'));
}

/** What the log shows of the entries, oldest first, without their ids. */
async function stored(store: Store): Promise<Omit<AuditRecord, 'id'>[]> {
  const page = await store.audit.query(ORG_A, {}, { limit: 100 });
  return page.data.reverse().map(({ id: _id, ...rest }) => rest);
}

test('repeated events grouped by the audit thread are stored as the writer stores them without it: count, later times, durations, the member', async () => {
  let without: Omit<AuditRecord, 'id'>[] = [];
  await withWriter({ thread: false }, async (run) => {
    recordSome(run);
    await run.writer.flush();
    without = await stored(run.store);
  });
  await withWriter({ thread: true }, async (run) => {
    recordSome(run);
    await run.writer.flush();
    const entries = await stored(run.store);
    assert.deepEqual(entries, without);
    assert.deepEqual(entries.map((e) => [e.action, e.connectionId, e.at, e.detail]), [
      ['token.read', 'conn_a', T0, { count: 3, laterMs: [40, 90], member: MEMBER_A }],
      ['proxy.call', 'conn_b', T0 + 5, { method: 'GET', path: '/items', status: 200, durationMs: 12, count: 2, laterMs: [55], laterDurationMs: [30], member: MEMBER_A }],
      ['token.read', 'conn_c', T0 + 90, { member: MEMBER_A }],
    ]);
    assert.deepEqual(run.lost, []);
  });
});

test('an event used again after its entry was stored starts a new entry, also once the thread has let go of it', async () => {
  await withWriter({ thread: true }, async (run) => {
    const a = read('conn_a');
    run.writer.recordRepeated(a);
    await run.writer.flush();
    // Stored: the thread tells so, and the request thread lets go of the event (and forgets its id) at most once a second.
    await new Promise((r) => setTimeout(r, 1100));
    run.clock.set(T0 + 2000);
    run.writer.recordRepeated(a);
    await run.writer.flush();
    run.clock.set(T0 + 2500);
    run.writer.recordRepeated(a);
    run.writer.recordRepeated(read('conn_b'));
    await run.writer.flush();
    assert.deepEqual((await stored(run.store)).map((e) => [e.connectionId, e.at, e.detail]), [
      ['conn_a', T0, { member: MEMBER_A }],
      ['conn_a', T0 + 2000, { member: MEMBER_A }],
      ['conn_a', T0 + 2500, { member: MEMBER_A }],
      ['conn_b', T0 + 2500, { member: MEMBER_A }],
    ]);
  });
});

test('a group stays open across chunks and closes when its window has passed, without anyone reading the log', async () => {
  await withWriter({ thread: true }, async (run) => {
    const a = read('conn_a');
    run.writer.recordRepeated(a);
    await new Promise((r) => setTimeout(r, 120)); // the writer has sent that chunk; the group is open on the thread
    run.clock.set(T0 + 120);
    run.writer.recordRepeated(a);
    const deadline = Date.now() + 5000;
    while ((await stored(run.store)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual((await stored(run.store)).map((e) => [e.connectionId, e.at, e.detail]), [
      ['conn_a', T0, { count: 2, laterMs: [120], member: MEMBER_A }],
    ]);
  });
});

test('when the audit thread cannot start, the repeated events handed to it are given back and stored on the main thread, grouped: none is lost', async () => {
  await withWriter({ thread: true, databaseUrl: 'mysql://127.0.0.1:1/keyway' }, async (run) => {
    recordSome(run);
    await run.writer.flush();
    run.clock.set(T0 + 200);
    run.writer.recordRepeated(read('conn_d')); // after the thread is gone: grouped here from the start
    await run.writer.flush();
    assert.deepEqual((await stored(run.store)).map((e) => [e.connectionId, e.at, e.detail['count'] ?? 1]), [
      ['conn_a', T0, 3],
      ['conn_b', T0 + 5, 2],
      ['conn_c', T0 + 90, 1],
      ['conn_d', T0 + 200, 1],
    ]);
    assert.equal(run.lost.length, 1);
  });
});

test('when the audit thread dies holding open groups, every use it had not stored is stored on the main thread: none is lost', async () => {
  // A window of 10 s: the group is still open on the thread when it dies.
  await withWriter({ thread: true, groupMs: 10_000 }, async (run) => {
    const a = read('conn_a');
    run.writer.recordRepeated(a);
    run.clock.set(T0 + 30);
    run.writer.recordRepeated(a);
    await new Promise((r) => setTimeout(r, 300)); // sent, and taken in by the thread: its group is open there
    // A batch too large for the thread's heap (128 MB): it dies of it, as it would of any fault.
    run.writer.record({ orgId: ORG_A, actor: { type: 'system', id: null }, action: 'token.refresh', detail: { rows: Array.from({ length: 3_000_000 }, (_, i) => ({ i })) } });
    const deadline = Date.now() + 20_000;
    while (run.lost.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(run.lost.length, 1);
    assert.match(run.lost[0]!.message, /The audit thread stopped/);
    run.clock.set(T0 + 40);
    run.writer.recordRepeated(a);
    await run.writer.flush();
    const page = await run.store.audit.query(ORG_A, { action: 'token.read' }, { limit: 10 });
    // Every use is stored, each once. Whether the use after the loss joins the taken-back group or
    // starts its own depends on when the main thread took the group back (a loaded machine: later).
    const uses = page.data.flatMap((e) => {
      const later = (e.detail as { laterMs?: number[] }).laterMs ?? [];
      return [e.at, ...later.map((ms) => e.at + ms)];
    }).sort((x, y) => x - y);
    assert.deepEqual(uses, [T0, T0 + 30, T0 + 40]);
    assert.ok(page.data.every((e) => e.connectionId === 'conn_a' && (e.detail as { member?: string }).member === MEMBER_A));
    const refresh = await run.store.audit.query(ORG_A, { action: 'token.refresh' }, { limit: 1 });
    assert.equal((refresh.data[0]?.detail['rows'] as unknown[] | undefined)?.length, 3_000_000, 'the batch that killed the thread was stored on the main thread');
  });
});
