import pg from 'pg';
import { KeywayError } from '../../core/errors.ts';
import type { SqlExecutor } from '../sql/executor.ts';
import type { Row, SqlValue } from '../sql/table.ts';

export interface PgOptions {
  connectionString: string;
  /** Connections in this process's pool. */
  max?: number;
  /** How long a call waits for a connection before failing (fail fast while the database is down). */
  connectTimeoutMs?: number;
  /** Statement timeout, so a stuck query never holds a request (or a refresh lease) forever. */
  statementTimeoutMs?: number;
}

/** Rewrites `?` placeholders to PostgreSQL's `$1, $2…`. Keyway's SQL has no `?` inside literals. */
export function toPgPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** SQLSTATE classes and socket errors that mean "the database is not there right now". */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]|53300)/;
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);

const ignore = (): void => undefined;

function asStoreError(e: unknown): unknown {
  const err = e as { code?: string; message?: string };
  const code = typeof err?.code === 'string' ? err.code : '';
  const msg = typeof err?.message === 'string' ? err.message : '';
  if (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(msg)) {
    // The code (ECONNREFUSED, ENOTFOUND, 57P01…) tells a wrong URL from a restart; no host or user is named.
    const why = code !== '' ? ` (${code})` : '';
    return new KeywayError('store_unavailable', `The database is unavailable${why}; retry shortly. If it lasts, check that PostgreSQL is running and that KEYWAY_DATABASE_URL names it.`, { retryAfter: 2, cause: e });
  }
  return e;
}

/**
 * PostgreSQL through `pg`'s pool. Statements run on any pooled connection; a transaction takes one
 * connection for its length, and calls inside it (the `tx` executor) use that connection.
 * BIGINT columns come back as strings: the table codec turns them into numbers.
 */
export function openPostgres(opts: PgOptions): SqlExecutor {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 2000,
    statement_timeout: opts.statementTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => undefined);

  const on = (q: pg.Pool | pg.PoolClient): Omit<SqlExecutor, 'transaction' | 'exclusive' | 'close'> => ({
    dialect: 'postgres',
    async all(sql, params: SqlValue[] = []) {
      try {
        return (await q.query(toPgPlaceholders(sql), params)).rows as Row[];
      } catch (e) {
        throw asStoreError(e);
      }
    },
    async run(sql, params: SqlValue[] = []) {
      try {
        return (await q.query(toPgPlaceholders(sql), params)).rowCount ?? 0;
      } catch (e) {
        throw asStoreError(e);
      }
    },
  });

  /**
   * Runs `fn` on one pooled connection. A connection dropped between statements is reported on the
   * client (the next query fails anyway); `fn` calls `markBroken` when the connection must not be reused.
   */
  const withClient = async <T>(fn: (client: pg.PoolClient, markBroken: () => void) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      throw asStoreError(e);
    }
    client.on('error', ignore);
    let broken = false;
    try {
      return await fn(client, () => { broken = true; });
    } catch (e) {
      throw asStoreError(e);
    } finally {
      client.off('error', ignore);
      client.release(broken);
    }
  };

  const exec: SqlExecutor = {
    ...on(pool),
    transaction: <T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> => withClient(async (client, markBroken) => {
      const tx: SqlExecutor = { ...on(client), transaction: (inner) => inner(tx), exclusive: (_id, inner) => inner(), close: async () => undefined };
      try {
        await tx.run('BEGIN');
        const out = await fn(tx);
        await tx.run('COMMIT');
        return out;
      } catch (e) {
        // The connection itself failed: do not hand it back to the pool.
        await client.query('ROLLBACK').catch(markBroken);
        throw e;
      }
    }),
    exclusive: <T>(lockId: number, fn: () => Promise<T>): Promise<T> => withClient(async (client, markBroken) => {
      await client.query('SELECT pg_advisory_lock($1)', [lockId]);
      try {
        return await fn();
      } finally {
        // Closing the connection (a broken one) releases the lock too.
        await client.query('SELECT pg_advisory_unlock($1)', [lockId]).catch(markBroken);
      }
    }),
    close: () => pool.end(),
  };
  return exec;
}
