/**
 * A table as data: which record field lives in which column, and how it is encoded. The repositories
 * build their SQL from it, so the SQLite and PostgreSQL stores share one implementation.
 */
export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;
export type ColType = 'text' | 'int' | 'json';

export type Columns<R> = { readonly [K in keyof R]-?: readonly [column: string, type: ColType] };

export interface Table<R> {
  readonly name: string;
  readonly columns: Columns<R>;
}

export function defineTable<R>(name: string, columns: Columns<R>): Table<R> {
  return { name, columns };
}

function encode(type: ColType, value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  if (type === 'json') return JSON.stringify(value);
  if (type === 'int') return Number(value);
  return String(value);
}

function decode(type: ColType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'json') return typeof value === 'string' ? JSON.parse(value) : value;
  if (type === 'int') return Number(value); // pg returns BIGINT as string
  return String(value);
}

/** Column names and encoded values for the fields present in `patch`. */
export function encodeFields<R>(table: Table<R>, patch: Partial<R>): { cols: string[]; values: SqlValue[] } {
  const cols: string[] = [];
  const values: SqlValue[] = [];
  for (const key of Object.keys(patch) as Array<keyof R>) {
    const spec = table.columns[key];
    if (!spec || patch[key] === undefined) continue;
    cols.push(spec[0]);
    values.push(encode(spec[1], patch[key]));
  }
  return { cols, values };
}

export function decodeRow<R>(table: Table<R>, row: Row): R {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(table.columns) as Array<keyof R & string>) {
    const [col, type] = table.columns[key];
    out[key] = decode(type, row[col]);
  }
  return out as R;
}

export function selectList<R>(table: Table<R>): string {
  return Object.values<readonly [string, ColType]>(table.columns).map(([c]) => c).join(', ');
}

export function insertSql<R>(table: Table<R>, record: R): { sql: string; values: SqlValue[] } {
  const { cols, values } = encodeFields(table, record as Partial<R>);
  return {
    sql: `INSERT INTO ${table.name} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
    values,
  };
}

/** `SET a = ?, b = ?` for a patch; empty string when the patch has no known field. */
export function setClause<R>(table: Table<R>, patch: Partial<R>): { set: string; values: SqlValue[] } {
  const { cols, values } = encodeFields(table, patch);
  return { set: cols.map((c) => `${c} = ?`).join(', '), values };
}
