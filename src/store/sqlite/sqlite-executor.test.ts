import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { KeywayError } from '../../core/errors.ts';
import { asStoreError } from './sqlite-executor.ts';

test('SQLite errors that mean "cannot write now" become a 503 that says what to do; others pass through', () => {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (x TEXT PRIMARY KEY)');
  const full = (() => {
    db.exec(`PRAGMA max_page_count = ${(db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count}`);
    try {
      for (let i = 0; i < 1000; i++) db.prepare('INSERT INTO t VALUES (?)').run(`${i}${'x'.repeat(1000)}`);
    } catch (e) {
      return e;
    }
    return null;
  })();
  const mapped = asStoreError(full);
  assert.ok(mapped instanceof KeywayError && mapped.code === 'store_unavailable', String(mapped));
  assert.equal(mapped.message, 'The disk holding the database is full: free space in Keyway\'s data directory, then retry.');
  assert.equal(mapped.retryAfter, 2);
  db.close();
  const db2 = new DatabaseSync(':memory:');
  db2.exec("CREATE TABLE t (x TEXT PRIMARY KEY); INSERT INTO t VALUES ('a')");
  const duplicate = (() => {
    try {
      db2.prepare('INSERT INTO t VALUES (?)').run('a');
    } catch (e) {
      return e;
    }
    return null;
  })();
  assert.ok(duplicate instanceof Error);
  assert.equal(asStoreError(duplicate), duplicate, 'a constraint is not an outage');
  db2.close();
});
