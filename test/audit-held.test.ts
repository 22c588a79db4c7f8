/**
 * The audit sink while the database cannot take entries: a real SQLite file whose write lock another
 * connection holds (as a `sqlite3` shell in a transaction would). Entries are held and stored in
 * order once it can, what is held is bounded, and a shutdown gives up after its grace.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { KeywayError, cryptoRandom } from '../src/core/index.ts';
import { type Store, openSqliteStore } from '../src/store/index.ts';
import { StoreAuditSink } from '../src/audit/sink.ts';
import type { PackedEntry } from '../src/audit/packed.ts';

const ORG = 'org_held';
const entry = (n: number): PackedEntry => [ORG, 1_700_000_000_000 + n, 'system', null, 'token.read', 'ok', null, null, { n }, null];

async function stored(store: Store): Promise<number[]> {
  const page = await store.audit.query(ORG, {}, { limit: 50 });
  return page.data.map((r) => (r.detail as { n: number }).n).reverse();
}

test('entries the database refuses are held and stored in order once it takes them; beyond the bound a batch is refused at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyway-held-'));
  const store = openSqliteStore(join(dir, 'keyway.db'));
  await store.migrate(Date.now());
  const other = new DatabaseSync(join(dir, 'keyway.db'));
  try {
    const told: string[] = [];
    let heldNow!: () => void;
    const held = new Promise<void>((r) => { heldNow = r; });
    const sink = new StoreAuditSink(store, cryptoRandom, { holdMax: 3, onHeld: (e) => { told.push(e.message); heldNow(); } });
    other.exec('BEGIN IMMEDIATE');
    const first = sink.write([entry(1), entry(2)]);
    await held; // SQLite waited its busy timeout, then refused: the batch is held
    const second = sink.write([entry(3)]);
    await assert.rejects(sink.write([entry(4)]), (e: unknown) => e instanceof KeywayError && e.code === 'store_unavailable'
      && /^1 audit entries were not stored: the database cannot take entries now, and 3 are already waiting for it\.$/.test(e.message));
    other.exec('ROLLBACK');
    await Promise.all([first, second]);
    assert.deepEqual(await stored(store), [1, 2, 3], 'held entries stored in order; the refused one not');
    assert.deepEqual(told, ['audit entries are held until the database takes them: The database is locked by another process; retry shortly.'], 'told once');

    // Held again, then shutting down: tried until the grace ends, then given up, saying why.
    const quick = new StoreAuditSink(store, cryptoRandom, { closeGraceMs: 0 });
    other.exec('BEGIN IMMEDIATE');
    const last = quick.write([entry(5)]);
    quick.closing();
    await assert.rejects(last, /^KeywayError: 1 entries given up at shutdown, the database refusing them: The database is locked by another process/);
    other.exec('ROLLBACK');
    assert.deepEqual(await stored(store), [1, 2, 3]);
  } finally {
    other.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
