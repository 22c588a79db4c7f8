import { type SqlExecutor, first } from '../sql/executor.ts';
import { type SqlValue, type Table, decodeRow, insertSql, selectList, setClause } from '../sql/table.ts';

export interface Page {
  limit: number;
  cursor?: string | undefined;
}

export interface PageResult<T> {
  data: T[];
  nextCursor: string | null;
}

/** `?, ?, …`: one placeholder per value, for `IN (…)`. */
export function placeholders(values: readonly unknown[]): string {
  return values.map(() => '?').join(', ');
}

export async function insertRecord<R>(sql: SqlExecutor, table: Table<R>, record: R): Promise<void> {
  const q = insertSql(table, record);
  await sql.run(q.sql, q.values);
}

export async function selectOne<R>(sql: SqlExecutor, table: Table<R>, where: string, params: SqlValue[]): Promise<R | null> {
  const row = await first(sql, `SELECT ${selectList(table)} FROM ${table.name} WHERE ${where}`, params);
  return row ? decodeRow(table, row) : null;
}

export async function selectMany<R>(sql: SqlExecutor, table: Table<R>, rest: string, params: SqlValue[]): Promise<R[]> {
  const rows = await sql.all(`SELECT ${selectList(table)} FROM ${table.name} ${rest}`, params);
  return rows.map((r) => decodeRow(table, r));
}

/** UPDATE … SET <patch> WHERE <where>; returns rows changed. */
export async function updateWhere<R>(
  sql: SqlExecutor, table: Table<R>, patch: Partial<R>, where: string, params: SqlValue[], extraSet = '',
): Promise<number> {
  const { set, values } = setClause(table, patch);
  const sets = [set, extraSet].filter((s) => s.length > 0).join(', ');
  if (sets.length === 0) return 0;
  return sql.run(`UPDATE ${table.name} SET ${sets} WHERE ${where}`, [...values, ...params]);
}
