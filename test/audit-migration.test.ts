/**
 * Migration 5 takes the unique index off audit ids (random, never looked up; the index cost a
 * random page write per entry). An existing log must come through whole: every entry, in order,
 * new entries numbered after the old ones. On SQLite (a table rebuild) and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqlExecutor } from '../src/store/sql/executor.ts';
import { MIGRATIONS } from '../src/store/sql/migrations.ts';
import { migrate } from '../src/store/migrate.ts';
import { createSqlStore } from '../src/store/store.ts';
import { openSqlite } from '../src/store/sqlite/sqlite-executor.ts';
import { openPostgres } from '../src/store/postgres/pg-executor.ts';
import type { NewAuditRecord } from '../src/store/index.ts';
import { type TestPostgres, postgresUnavailable, startTestPostgres } from './helpers/postgres.ts';

const entry = (i: number): NewAuditRecord => ({
  id: `aud_${i}`, orgId: 'org_1', at: 1_000 + i, actorType: 'system', actorId: null, action: 'token.read', outcome: 'ok',
  integrationId: 'int_1', connectionId: `conn_${i % 3}`, detail: { n: i },
});

/** A database as a Keyway before migration 5 left it, holding `n` audit entries. */
async function atMigration4(sql: SqlExecutor, n: number): Promise<void> {
  await sql.run('CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
  for (const m of MIGRATIONS.filter((x) => x.id <= 4)) {
    for (const stmt of m.sql(sql.dialect).split(';').map((s) => s.trim()).filter(Boolean)) await sql.run(stmt);
    await sql.run('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)', [m.id, m.name, 1]);
  }
  await sql.run("INSERT INTO orgs (id, name, created_at) VALUES ('org_1', 'Org', 1)");
  await createSqlStore(sql).audit.append(Array.from({ length: n }, (_, i) => entry(i)));
}

async function check(sql: SqlExecutor): Promise<void> {
  await atMigration4(sql, 120);
  const uniqueBefore = await createSqlStore(sql).audit.append([entry(0)]).then(() => 'accepted', () => 'refused');
  assert.equal(uniqueBefore, 'refused', 'before migration 5 a repeated id is refused (the unique index)');
  assert.deepEqual(await migrate(sql, 2), MIGRATIONS.filter((m) => m.id > 4).map((m) => m.id), 'migration 5 and any later ones');
  const store = createSqlStore(sql);
  const all = [];
  let cursor: string | undefined;
  do {
    const page = await store.audit.query('org_1', {}, { limit: 50, ...(cursor ? { cursor } : {}) });
    all.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  assert.equal(all.length, 120, 'every entry kept');
  assert.deepEqual(all.map((e) => e.id), Array.from({ length: 120 }, (_, i) => `aud_${119 - i}`), 'newest first, as before');
  assert.deepEqual(all[0]?.detail, { n: 119 });
  const lastSeq = all[0]?.seq ?? 0;
  await store.audit.append([entry(500)]);
  const newest = (await store.audit.query('org_1', {}, { limit: 1 })).data[0];
  assert.equal(newest?.id, 'aud_500');
  assert.ok((newest?.seq ?? 0) > lastSeq, 'new entries are numbered after the old ones');
  assert.equal((await store.audit.query('org_1', { connectionId: 'conn_1' }, { limit: 500 })).data.length, 40, 'filters still work');
  assert.deepEqual(await migrate(sql, 3), [], 'applied once');
}

describe('migration 5: audit ids without a unique index', () => {
  test('SQLite: the log is rebuilt with every entry, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyway-mig5-'));
    const sql = openSqlite(join(dir, 'keyway.db'));
    try {
      await check(sql);
    } finally {
      await sql.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const skip = postgresUnavailable();
  describe('PostgreSQL', { skip: skip ?? false }, () => {
    let pg: TestPostgres | undefined;
    before(async () => { pg = await startTestPostgres(); });
    after(async () => { await pg?.close(); });
    test('PostgreSQL: the constraint is dropped and every entry kept', async () => {
      if (!pg) throw new Error('PostgreSQL was not started');
      const sql = openPostgres({ connectionString: await pg.newDatabase(), max: 2 });
      try {
        await check(sql);
      } finally {
        await sql.close();
      }
    });
  });
});
