import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Config, loadConfig } from '../core/config.ts';
import { systemClock } from '../core/index.ts';
import { type Store, openStoreFor } from '../store/index.ts';

/**
 * Opens the data folder's store (which must exist) for a command that reads or changes it:
 * migrated, closed after `fn`. `fn` also gets the configuration and the resolved data folder.
 */
export async function withStore<T>(dataDirFlag: string | undefined, fn: (store: Store, config: Config, dataDir: string) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env, { dataDir: dataDirFlag });
  const dataDir = resolve(config.dataDir);
  if (!config.databaseUrl && !existsSync(join(dataDir, 'keyway.db'))) throw new Error(`No Keyway data in ${dataDir}. Pass --data-dir, or start \`keyway serve\` once.`);
  const store = openStoreFor(config.databaseUrl, dataDir);
  try {
    await store.migrate(systemClock.now());
    return await fn(store, config, dataDir);
  } finally {
    await store.close();
  }
}
