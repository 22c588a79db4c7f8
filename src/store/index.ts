import { openSqlite } from './sqlite/sqlite-executor.ts';
import { type Store, createSqlStore } from './store.ts';

export type { Store } from './store.ts';
export type * from './records.ts';
export type { ConnectionFilter, Lease } from './repos/connections.ts';
export type { AuditFilter } from './repos/audit.ts';
export type { Page, PageResult } from './repos/common.ts';

/** Opens the embedded SQLite store (a file, or ':memory:'). */
export function openSqliteStore(path: string): Store {
  return createSqlStore(openSqlite(path));
}
