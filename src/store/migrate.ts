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
