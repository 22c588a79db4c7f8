import { type SqlExecutor, encodeCursor, requireCursor } from '../sql/executor.ts';
import type { SqlValue } from '../sql/table.ts';
import * as t from '../sql/tables.ts';
import type { AuditRecord, NewAuditRecord } from '../records.ts';
import { type Page, type PageResult, placeholders, selectMany } from './common.ts';

export interface AuditFilter {
  integrationId?: string | undefined;
  connectionId?: string | undefined;
  action?: string | undefined;
  actorId?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  /** Only entries of these integrations (a key limited to them reads no others). */
  integrationIds?: readonly string[] | undefined;
  /** Only entries of these connections. */
  connectionIds?: readonly string[] | undefined;
}

const COLS = ['id', 'org_id', 'at', 'actor_type', 'actor_id', 'action', 'outcome', 'integration_id', 'connection_id', 'detail'];
const INSERT_HEAD = `INSERT INTO audit_log (${COLS.join(', ')}) VALUES `;
const ROW_PLACEHOLDERS = `(${COLS.map(() => '?').join(', ')})`;
/** 50 rows × 10 columns stays far below SQLite's and PostgreSQL's bound-parameter limits. */
const ROWS_PER_INSERT = 50;
const insertOf = (rows: number): string => `${INSERT_HEAD}${Array(rows).fill(ROW_PLACEHOLDERS).join(', ')}`;
/** The statement for a full chunk, made once (a batch is mostly full chunks). */
const FULL_INSERT = insertOf(ROWS_PER_INSERT);

/** The bound values of `entries[from, to)`, in column order. */
function rowValues(entries: NewAuditRecord[], from: number, to: number): SqlValue[] {
  const out: SqlValue[] = new Array((to - from) * COLS.length);
  let k = 0;
  for (let i = from; i < to; i++) {
    const e = entries[i]!;
    out[k++] = e.id; out[k++] = e.orgId; out[k++] = e.at; out[k++] = e.actorType; out[k++] = e.actorId;
    out[k++] = e.action; out[k++] = e.outcome; out[k++] = e.integrationId; out[k++] = e.connectionId;
    out[k++] = JSON.stringify(e.detail);
  }
  return out;
}

export function auditRepo(sql: SqlExecutor) {
  return {
    /**
     * Appends entries in one transaction (the writer batches them off the request path), as
     * multi-row INSERTs of up to ROWS_PER_INSERT entries: one statement per chunk, not per entry.
     */
    async append(entries: NewAuditRecord[]): Promise<void> {
      if (entries.length === 0) return;
      await sql.transaction(async (tx) => {
        for (let i = 0; i < entries.length; i += ROWS_PER_INSERT) {
          const end = Math.min(entries.length, i + ROWS_PER_INSERT);
          await tx.run(end - i === ROWS_PER_INSERT ? FULL_INSERT : insertOf(end - i), rowValues(entries, i, end));
        }
      });
    },

    async query(orgId: string, filter: AuditFilter, page: Page): Promise<PageResult<AuditRecord>> {
      const where = ['org_id = ?'];
      const params: SqlValue[] = [orgId];
      const add = (cond: string, v: SqlValue | undefined) => {
        if (v !== undefined) { where.push(cond); params.push(v); }
      };
      add('integration_id = ?', filter.integrationId);
      add('connection_id = ?', filter.connectionId);
      add('action = ?', filter.action);
      add('actor_id = ?', filter.actorId);
      add('at >= ?', filter.since);
      add('at < ?', filter.until);
      const addIn = (column: string, ids: readonly string[] | undefined) => {
        if (ids !== undefined) { where.push(ids.length === 0 ? '1 = 0' : `${column} IN (${placeholders(ids)})`); params.push(...ids); }
      };
      addIn('integration_id', filter.integrationIds);
      addIn('connection_id', filter.connectionIds);
      const c = page.cursor ? requireCursor(page.cursor, 1) : null;
      if (c) add('seq < ?', Number(c[0]));
      const rows = await selectMany(sql, t.auditLog, `WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`, [...params, page.limit + 1]);
      const data = rows.slice(0, page.limit);
      const last = data[data.length - 1];
      return { data, nextCursor: rows.length > page.limit && last ? encodeCursor([last.seq]) : null };
    },

    pruneBefore: (orgId: string, before: number, limit: number) =>
      sql.run('DELETE FROM audit_log WHERE seq IN (SELECT seq FROM audit_log WHERE org_id = ? AND at < ? LIMIT ?)', [orgId, before, limit]),
  };
}
