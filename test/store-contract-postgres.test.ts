/**
 * The store contract suite against a real PostgreSQL server (Debian's `postgresql`; .ci/run installs
 * it). Each test gets a fresh database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openPostgresStore } from '../src/store/index.ts';
import { MIGRATIONS } from '../src/store/sql/migrations.ts';
import { KeywayError } from '../src/core/errors.ts';
import { storeContract } from './helpers/store-contract.ts';
import { type TestPostgres, postgresUnavailable, startTestPostgres } from './helpers/postgres.ts';

const skip = postgresUnavailable();
let pgServer: TestPostgres | undefined;
const server = (): TestPostgres => {
  if (!pgServer) throw new Error('PostgreSQL was not started');
  return pgServer;
};

describe('postgres', { skip: skip ?? false }, () => {
  before(async () => { pgServer = await startTestPostgres(); });
  after(async () => { await pgServer?.close(); });

  storeContract('postgres', async () => openPostgresStore({ connectionString: await server().newDatabase(), max: 4 }));

  test('processes starting together migrate once: eight stores racing on one empty database', async () => {
    const url = await server().newDatabase();
    const stores = Array.from({ length: 8 }, () => openPostgresStore({ connectionString: url, max: 2 }));
    try {
      const applied = await Promise.all(stores.map((s) => s.migrate(1)));
      const all = applied.flat().sort();
      assert.deepEqual(all, MIGRATIONS.map((m) => m.id).sort(), 'each migration applied by exactly one of the eight');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('PostgreSQL cannot tell whether another connection committed: dataVersion is null, so re-checks always read', async () => {
    const store = openPostgresStore({ connectionString: await server().newDatabase(), max: 2 });
    try {
      await store.migrate(1);
      assert.equal(await store.dataVersion(), null);
    } finally {
      await store.close();
    }
  });

  test('a database that cannot be reached fails fast with store_unavailable, not a hang', async () => {
    const store = openPostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectTimeoutMs: 500 });
    try {
      await assert.rejects(store.orgs.get('org_x'), (e: unknown) => e instanceof KeywayError && e.code === 'store_unavailable' && !/postgres:\/\//.test(e.message));
    } finally {
      await store.close();
    }
  });
});
