import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { KeywayError } from '../../core/errors.ts';
import { retryWhile } from '../../core/retry.ts';
import type { SqlExecutor } from '../sql/executor.ts';
import type { Row, SqlValue } from '../sql/table.ts';

/**
 * SQLite through Node's built-in `node:sqlite`, in WAL mode. Calls are synchronous underneath;
 * while a transaction runs (it may await between statements), other callers wait for it, so no
 * statement from another request lands inside it. A write that finds another process holding the
 * write lock is tried again on a timer (`whileLocked`), so the wait never stops this process.
 */
export interface SqliteTuning {
  /** Page cache in KiB (default 64 MB). */
  cacheKib?: number;
  /** Memory-mapped window in bytes (default 256 MB; 0 turns mmap off). */
  mmapBytes?: number;
}

/**
 * What SQLite's primary result codes that mean "the database cannot be written right now" tell the
 * caller: a 503 saying what is wrong and what to do, so an API caller retries and an operator knows
 * where to look (instead of "unexpected error"). Others (a constraint, a bug) pass through.
 */
const UNAVAILABLE: ReadonlyMap<number, string> = new Map([
  [5, 'The database is locked by another process; retry shortly.'], // SQLITE_BUSY, after LOCK_WAIT_MS
  [6, 'The database is locked by another process; retry shortly.'], // SQLITE_LOCKED
  [8, 'The database file cannot be written (read-only): check the permissions of Keyway\'s data directory.'], // SQLITE_READONLY
  [10, 'The database file could not be read or written (an I/O error): check the disk holding Keyway\'s data directory.'], // SQLITE_IOERR
  [13, 'The disk holding the database is full: free space in Keyway\'s data directory, then retry.'], // SQLITE_FULL
]);

/** A `node:sqlite` error as `store_unavailable` when its code means the database cannot be written now. */
export function asStoreError(e: unknown): unknown {
  const code = (e as { errcode?: unknown } | null)?.errcode;
  const message = typeof code === 'number' ? UNAVAILABLE.get(code & 0xff) : undefined;
  return message === undefined ? e : new KeywayError('store_unavailable', message, { retryAfter: 2, cause: e });
}

const withStoreErrors = <T>(f: () => T): T => {
  try {
    return f();
  } catch (e) {
    throw asStoreError(e);
  }
};

/** How long a write waits, in all, for another process to let go of the write lock. */
const LOCK_WAIT_MS = 5000;

/** SQLITE_BUSY, or one of its extended codes (recovery, snapshot, timeout). */
const isBusy = (e: unknown): e is Error => {
  const code = (e as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' && (code & 0xff) === 5;
};

/**
 * Runs `attempt` again while another process holds the write lock, for up to LOCK_WAIT_MS, waiting
 * between tries with timers: SQLite's own busy timeout waits by sleeping the thread, which would
 * stop every request of this process for as long. Errors come out as `asStoreError` makes them.
 */
async function whileLocked<T>(attempt: () => Promise<T>): Promise<T> {
  const until = performance.now() + LOCK_WAIT_MS;
  try {
    return await retryWhile(attempt, isBusy, { until: () => until, firstMs: 5, maxMs: 200 });
  } catch (e) {
    throw asStoreError(e);
  }
}

export function openSqlite(path: string, tuning: SqliteTuning = {}): SqlExecutor {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new DatabaseSync(path);
  // Only Keyway's user may read the file (SQLite gives its -wal and -shm files the same mode).
  if (path !== ':memory:') chmodSync(path, 0o600);
  // A lock held a few milliseconds is waited out in place; a longer one by `whileLocked`.
  db.exec('PRAGMA busy_timeout = 10; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
  // Deleted and overwritten rows are zeroed, not left in free space: a disconnected connection's
  // sealed tokens (and every replaced one) leave the file once the WAL is checkpointed.
  db.exec('PRAGMA secure_delete = ON;');
  // Reads of hot rows from a large file: memory-mapped I/O (256 MB window) and a 64 MB page cache
  // instead of the 2 MB default, so a million-connection store does not turn row reads into pread calls.
  // (A connection that only appends, like the audit thread's, asks for less.)
  db.exec(`PRAGMA mmap_size = ${Math.trunc(tuning.mmapBytes ?? 268_435_456)}; PRAGMA cache_size = -${Math.trunc(tuning.cacheKib ?? 65_536)};`);
  const statements = new Map<string, StatementSync>();
  /** Transactions, one after another: the next one's BEGIN waits for the last to end. */
  let txChain: Promise<unknown> = Promise.resolve();
  /** Set while a transaction has begun, resolved when it ends: statements from outside it wait for it. */
  let txEnded: Promise<void> | null = null;

  const prepare = (sql: string): StatementSync => {
    let st = statements.get(sql);
    if (!st) {
      st = db.prepare(sql);
      statements.set(sql, st);
    }
    return st;
  };
  const allNow = (sql: string, params: SqlValue[] = []): Row[] => prepare(sql).all(...params) as Row[];
  const runNow = (sql: string, params: SqlValue[] = []): number => Number(prepare(sql).run(...params).changes);
  /** A statement outside any transaction, once none has begun here, waiting out another process's lock. */
  const outside = <T>(f: () => T): Promise<T> => whileLocked(async () => {
    while (txEnded !== null) await txEnded;
    return f();
  });

  const direct: SqlExecutor = {
    dialect: 'sqlite',
    all: async (sql, params) => withStoreErrors(() => allNow(sql, params)),
    run: async (sql, params) => withStoreErrors(() => runNow(sql, params)),
    transaction: (fn) => fn(direct),
    exclusive: (_id, fn) => fn(),
    close: async () => undefined,
  };

  const exec: SqlExecutor = {
    dialect: 'sqlite',
    all: (sql, params) => outside(() => allNow(sql, params)),
    run: (sql, params) => outside(() => runNow(sql, params)),
    transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const work = txChain.then(async () => {
        let ended!: () => void;
        // Begun and marked in one step: no statement from outside may run between the two.
        await outside(() => {
          db.exec('BEGIN IMMEDIATE');
          txEnded = new Promise<void>((r) => { ended = r; });
        });
        try {
          const out = await fn(direct);
          withStoreErrors(() => db.exec('COMMIT'));
          return out;
        } catch (e) {
          if (db.isTransaction) db.exec('ROLLBACK');
          throw e;
        } finally {
          txEnded = null;
          ended();
        }
      });
      txChain = work.catch(() => undefined);
      return work;
    },
    exclusive: (_id, fn) => fn(),
    async dataVersion() {
      return Number((prepare('PRAGMA data_version').get() as { data_version: number }).data_version);
    },
    async close() {
      await txChain;
      db.close();
    },
  };
  return exec;
}
