import type { SqlExecutor } from './sql/executor.ts';
import { MIGRATIONS } from './sql/migrations.ts';

/**
 * Applies pending migrations in one transaction. On SQLite `BEGIN IMMEDIATE` takes the write lock,
 * on PostgreSQL an advisory lock; either way processes starting together apply each migration once.
 */
export async function migrate(sql: SqlExecutor, now: number): Promise<number[]> {
  return sql.transaction(async (tx) => {
    // PostgreSQL: processes starting together queue on one advisory lock (released at commit), so
    // each migration runs once and nobody reads a half-migrated schema.
    if (tx.dialect === 'postgres') await tx.all('SELECT pg_advisory_xact_lock(7240301)');
    await tx.run('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    const done = new Set((await tx.all('SELECT id FROM schema_migrations')).map((r) => Number(r['id'])));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.id)) continue;
      for (const stmt of m.sql(tx.dialect).split(';').map((s) => s.trim()).filter(Boolean)) {
        await tx.run(stmt);
      }
      await tx.run('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)', [m.id, m.name, now]);
      applied.push(m.id);
    }
    return applied;
  });
}

/** Ids of the migrations applied so far; empty for a database Keyway has never migrated. Read-only. */
export async function appliedMigrations(sql: SqlExecutor): Promise<number[]> {
  const exists = sql.dialect === 'sqlite'
    ? await sql.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    : await sql.all("SELECT tablename FROM pg_tables WHERE tablename = 'schema_migrations' AND schemaname = current_schema()");
  if (exists.length === 0) return [];
  return (await sql.all('SELECT id FROM schema_migrations ORDER BY id')).map((r) => Number(r['id']));
}
