import { KeywayError } from '../../core/errors.ts';
import type { Row, SqlValue } from './table.ts';

/**
 * The one thing a dialect adapter provides: run SQL written with `?` placeholders.
 * Repositories are written once against this.
 */
export interface SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  all(sql: string, params?: SqlValue[]): Promise<Row[]>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: SqlValue[]): Promise<number>;
  /** Runs `fn` in one transaction; nested calls join the outer one. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` while holding a lock every process on this database respects (PostgreSQL advisory
   * lock); `fn` uses the normal executor. SQLite (one process) runs it directly.
   */
  exclusive<T>(lockId: number, fn: () => Promise<T>): Promise<T>;
  /**
   * A number that changes whenever another connection to the database commits (SQLite's
   * `data_version`; this connection's own commits leave it as it is). Absent where the database
   * cannot tell (PostgreSQL).
   */
  dataVersion?(): Promise<number>;
  close(): Promise<void>;
}

export async function first(sql: SqlExecutor, text: string, params?: SqlValue[]): Promise<Row | undefined> {
  const rows = await sql.all(text, params);
  return rows[0];
}

/** Opaque cursor for keyset pagination. */
export function encodeCursor(parts: Array<string | number>): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** Decodes a cursor we issued with `parts` entries; anything else is a 400 that says what to do. */
export function requireCursor(cursor: string, parts: number): Array<string | number> {
  const c = decodeCursor(cursor);
  if (!c || c.length !== parts) {
    throw new KeywayError('invalid_request', 'The cursor is not one this list returned; pass nextCursor from the previous page unchanged, or omit it to start over.');
  }
  return c;
}

export function decodeCursor(cursor: string): Array<string | number> | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string' || typeof p === 'number')) return parsed;
    return null;
  } catch {
    // Not a cursor we issued: the caller turns this into a 400.
    return null;
  }
}
