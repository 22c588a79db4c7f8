import { join } from 'node:path';
import { KeywayError } from '../core/errors.ts';
import { openSqlite } from './sqlite/sqlite-executor.ts';
import { type PgOptions, openPostgres } from './postgres/pg-executor.ts';
import { type Store, createSqlStore } from './store.ts';

export type { Store } from './store.ts';
export type * from './records.ts';
export type { ConnectionFilter, Lease } from './repos/connections.ts';
export { connectionStamp } from './repos/connections.ts';
export type { AuditFilter } from './repos/audit.ts';
export type { Page, PageResult } from './repos/common.ts';

/** Opens the embedded SQLite store (a file, or ':memory:'). */
export function openSqliteStore(path: string): Store {
  return createSqlStore(openSqlite(path));
}

/** Opens the PostgreSQL store (`KEYWAY_DATABASE_URL=postgres://…`): many Keyway processes share it. */
export function openPostgresStore(opts: PgOptions): Store {
  return createSqlStore(openPostgres(opts));
}

/**
 * The store a configuration names: PostgreSQL for `postgres://…` / `postgresql://…`, otherwise the
 * embedded SQLite file in the data directory.
 */
export function openStoreFor(databaseUrl: string | null, dataDir: string): Store {
  if (databaseUrl === null || databaseUrl === '') return openSqliteStore(join(dataDir, 'keyway.db'));
  if (/^postgres(ql)?:\/\//i.test(databaseUrl)) return openPostgresStore({ connectionString: databaseUrl });
  throw new KeywayError('invalid_request', 'KEYWAY_DATABASE_URL must be a postgres:// URL; leave it unset to use the embedded SQLite file in the data directory.');
}
