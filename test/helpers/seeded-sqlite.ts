import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Store, openSqliteStore } from '../../src/store/index.ts';
import { T0, seed } from './store-fixtures.ts';

/**
 * A migrated SQLite file holding the store fixtures' seed, in a data directory of its own: `fn`
 * gets the store on this thread and the directory (for a thread or process that opens the same
 * file). Closed and removed after.
 */
export async function withSeededSqlite(fn: (store: Store, dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyway-seeded-'));
  const store = openSqliteStore(join(dataDir, 'keyway.db'));
  try {
    await store.migrate(T0);
    await seed(store);
    await fn(store, dataDir);
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
