import { join } from 'node:path';
import { KeywayError } from '../core/errors.ts';
import { type SqliteTuning, openSqlite } from './sqlite/sqlite-executor.ts';
import { type PgOptions, openPostgres } from './postgres/pg-executor.ts';
import { type Store, createSqlStore } from './store.ts';

export type { Store } from './store.ts';
export type * from './records.ts';
export type { ConnectionFilter, Lease } from './repos/connections.ts';
export { connectionStamp } from './repos/connections.ts';
export type { AuditFilter } from './repos/audit.ts';
export type { Page, PageResult } from './repos/common.ts';
export type { ApiKeyVisibility, RollOutcome } from './repos/orgs.ts';
export { MEMBER_REMOVED } from './repos/members.ts';

/** Opens the embedded SQLite store (a file, or ':memory:'). */
export function openSqliteStore(path: string, tuning?: SqliteTuning): Store {
  return createSqlStore(openSqlite(path, tuning));
}

/** Opens the PostgreSQL store (`KEYWAY_DATABASE_URL=postgres://…`): many Keyway processes share it. */
export function openPostgresStore(opts: PgOptions): Store {
  return createSqlStore(openPostgres(opts));
}

/**
 * The store a configuration names: PostgreSQL for `postgres://…` / `postgresql://…`, otherwise the
 * embedded SQLite file in the data directory.
 */
/** Where a store lives, as configuration says: enough for another thread to open the same one. */
export interface StoreLocation {
  databaseUrl: string | null;
  dataDir: string;
}

/** A store opened for one narrow job (the audit thread): a small SQLite cache, a small pool. */
export interface StoreTuning {
  sqlite?: SqliteTuning;
  pgMaxConnections?: number;
}

export function openStoreFor(databaseUrl: string | null, dataDir: string, tuning: StoreTuning = {}): Store {
  if (databaseUrl === null || databaseUrl === '') return openSqliteStore(join(dataDir, 'keyway.db'), tuning.sqlite);
  if (/^postgres(ql)?:\/\//i.test(databaseUrl)) {
    return openPostgresStore({ connectionString: databaseUrl, ...(tuning.pgMaxConnections ? { max: tuning.pgMaxConnections } : {}) });
  }
  throw new KeywayError('invalid_request', 'KEYWAY_DATABASE_URL must be a postgres:// URL; leave it unset to use the embedded SQLite file in the data directory.');
}
