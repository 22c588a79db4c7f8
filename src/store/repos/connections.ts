import { type SqlExecutor, encodeCursor, requireCursor } from '../sql/executor.ts';
import { type Row, type SqlValue, decodeRow, selectList } from '../sql/table.ts';
import * as t from '../sql/tables.ts';
import type { ConnectionRecord, ConnectionStatus } from '../records.ts';
import { type Page, type PageResult, insertRecord, placeholders, selectMany, selectOne, updateWhere } from './common.ts';

export interface ConnectionFilter {
  integrationId?: string | undefined;
  status?: ConnectionStatus | undefined;
  externalId?: string | undefined;
}

/** A held refresh lease: writes of new tokens must present it (fencing). */
export interface Lease {
  owner: string;
  fence: number;
  /** Set when a previous holder started a provider call and never finished it (crash). */
  interruptedAt: number | null;
}

/**
 * A row's stamp, from the columns that tell whether a cached connection row is still the stored one
 * (its tokens, status, owner and sharing, the time of its last change): equal stamps mean a cached
 * row may still be served. `STAMP_SQL` computes the same string in the database.
 */
export function connectionStamp(c: t.ConnectionStampFields): string {
  return `${c.tokenVersion}|${c.status}|${c.updatedAt}|${c.ownerMemberId ?? ''}|${c.sharing ?? ''}|${c.shareLevel ?? ''}|${c.refreshFailures}|${c.expiresAt ?? ''}`;
}

/** `connectionStamp` as one SQL expression (same text on SQLite and PostgreSQL): the re-check reads two short columns a row. */
const STAMP_SQL = [
  'CAST(token_version AS TEXT)', 'status', 'CAST(updated_at AS TEXT)', "COALESCE(owner_member_id, '')", "COALESCE(sharing, '')",
  "COALESCE(share_level, '')", 'CAST(refresh_failures AS TEXT)', "COALESCE(CAST(expires_at AS TEXT), '')",
].join(" || '|' || ");

/**
 * The background scheduler's questions, each answerable from one partial index over live
 * connections (migration 6), so a pass reads only what is due. Exported for the query-plan test.
 */
export const DUE_QUERIES = {
  /** Access token expiring before `?` (refresh it). Index connections_due_expiry. */
  expiring: "WHERE status <> 'needs_reauth' AND expires_at <= ? AND kind IN ('oauth2', 'client_credentials')",
  /** Refresh token unused since before `?` (touch it). Index connections_due_idle. */
  idle: "WHERE status <> 'needs_reauth' AND refresh_token_enc IS NOT NULL AND obtained_at < ? AND kind IN ('oauth2', 'client_credentials')",
  /** Refresh token expired by `?` (needs_reauth). Index connections_due_reauth. */
  refreshExpired: "WHERE status <> 'needs_reauth' AND refresh_token_enc IS NOT NULL AND refresh_expires_at <= ? AND kind = 'oauth2'",
  /** Access token expired by `?` with no refresh token (needs_reauth). Index connections_due_expiry. */
  expiredWithoutRefresh: "WHERE status <> 'needs_reauth' AND expires_at <= ? AND refresh_token_enc IS NULL AND kind = 'oauth2'",
} as const;

/** A row returned by a lease-taking UPDATE … RETURNING, with the lease it was taken under. */
function leasedRow(r: Row, owner: string): { lease: Lease; row: ConnectionRecord } {
  const inflight = r['refresh_inflight_at'];
  return {
    lease: { owner, fence: Number(r['lease_fence']), interruptedAt: inflight == null ? null : Number(inflight) },
    row: decodeRow(t.connections, r),
  };
}

export function connectionRepo(sql: SqlExecutor) {
  return {
    insert: (r: ConnectionRecord) => insertRecord(sql, t.connections, r),
    get: (orgId: string, id: string) => selectOne(sql, t.connections, 'org_id = ? AND id = ?', [orgId, id]),

    async list(orgId: string, filter: ConnectionFilter, page: Page): Promise<PageResult<ConnectionRecord>> {
      const where = ['org_id = ?'];
      const params: SqlValue[] = [orgId];
      if (filter.integrationId) { where.push('integration_id = ?'); params.push(filter.integrationId); }
      if (filter.status) { where.push('status = ?'); params.push(filter.status); }
      if (filter.externalId) { where.push('external_id = ?'); params.push(filter.externalId); }
      const c = page.cursor ? requireCursor(page.cursor, 2) : null;
      if (c) {
        where.push('(created_at < ? OR (created_at = ? AND id < ?))');
        params.push(Number(c[0]), Number(c[0]), String(c[1]));
      }
      const rows = await selectMany(sql, t.connections,
        `WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ?`, [...params, page.limit + 1]);
      const data = rows.slice(0, page.limit);
      const last = data[data.length - 1];
      return { data, nextCursor: rows.length > page.limit && last ? encodeCursor([last.createdAt, last.id]) : null };
    },

    /**
     * The stamps (see `connectionStamp`) of these connections as stored, by id; a deleted one is
     * absent. One narrow query per call: how caches re-check many rows a second.
     */
    async stamps(ids: readonly string[]): Promise<Map<string, string>> {
      const out = new Map<string, string>();
      if (ids.length === 0) return out;
      const rows = await sql.all(`SELECT id, ${STAMP_SQL} AS stamp FROM connections WHERE id IN (${placeholders(ids)})`, [...ids]);
      for (const r of rows) out.set(String(r['id']), String(r['stamp']));
      return out;
    },

    /** The integrations these connections belong to, each once; ids not found are left out. */
    async integrationIdsOf(orgId: string, ids: readonly string[]): Promise<string[]> {
      if (ids.length === 0) return [];
      const rows = await sql.all(`SELECT DISTINCT integration_id FROM connections WHERE org_id = ? AND id IN (${placeholders(ids)})`, [orgId, ...ids]);
      return rows.map((r) => String(r['integration_id']));
    },

    update: (orgId: string, id: string, patch: Partial<ConnectionRecord>) =>
      updateWhere(sql, t.connections, patch, 'org_id = ? AND id = ?', [orgId, id]),

    /** `update`, but only while the tokens are still the ones the caller judged (no new tokens meanwhile). */
    updateIfVersion: (orgId: string, id: string, tokenVersion: number, patch: Partial<ConnectionRecord>) =>
      updateWhere(sql, t.connections, patch, 'org_id = ? AND id = ? AND token_version = ?', [orgId, id, tokenVersion]),

    /**
     * Writes tokens outside the refresh path (first connect, re-auth) and bumps the token version.
     * A refresh still running on the old tokens loses its lease (the fence moves on), so it cannot
     * overwrite these; a crash marker about the old tokens is cleared.
     */
    replaceTokens: (orgId: string, id: string, patch: Partial<ConnectionRecord>) =>
      updateWhere(sql, t.connections, patch, 'org_id = ? AND id = ?', [orgId, id],
        'token_version = token_version + 1, lease_owner = NULL, lease_until = NULL, lease_fence = lease_fence + 1, refresh_inflight_at = NULL'),

    /**
     * OAuth connections that can no longer be renewed but do not show it yet, across organizations:
     * the refresh token has expired, or the access token has with no refresh token. The background
     * scheduler turns them needs_reauth before a call fails. Two index range reads (DUE_QUERIES).
     */
    async listDueForReauth(now: number, limit: number): Promise<ConnectionRecord[]> {
      const [lapsed, expired] = await Promise.all([
        selectMany(sql, t.connections, `${DUE_QUERIES.refreshExpired} ORDER BY refresh_expires_at LIMIT ?`, [now, limit]),
        selectMany(sql, t.connections, `${DUE_QUERIES.expiredWithoutRefresh} ORDER BY expires_at LIMIT ?`, [now, limit]),
      ]);
      return [...lapsed, ...expired].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, limit);
    },

    delete: (orgId: string, id: string) => sql.run('DELETE FROM connections WHERE org_id = ? AND id = ?', [orgId, id]),

    /**
     * Takes the refresh lease if nobody holds it (or the holder's lease ran out), and returns it with
     * the row as it stands under it, in one statement (UPDATE … RETURNING). The fence grows with every
     * acquisition, so a holder that lost its lease can never write. Null when someone else holds it.
     */
    async acquireLeaseWithRow(id: string, owner: string, now: number, leaseMs: number): Promise<{ lease: Lease; row: ConnectionRecord } | null> {
      const rows = await sql.all(
        `UPDATE connections SET lease_owner = ?, lease_until = ?, lease_fence = lease_fence + 1
         WHERE id = ? AND (lease_until IS NULL OR lease_until < ?)
         RETURNING ${selectList(t.connections)}, lease_fence, refresh_inflight_at`,
        [owner, now + leaseMs, id, now]);
      const r = rows[0];
      return r ? leasedRow(r, owner) : null;
    },

    /**
     * The background scheduler's claim: takes the refresh lease, in one statement, on those of
     * `wanted` that nobody holds, that still carry the token version the caller judged due, and that
     * no person must fix. Returns each claimed row as it stands under its lease. Connections another
     * process refreshed (or is refreshing) since the caller looked are left out, so several
     * processes passing together spend no round trip on each other's work. PostgreSQL skips rows
     * another claim has locked this instant instead of waiting on them (no lock-order deadlocks).
     */
    async claimForRefresh(wanted: ReadonlyArray<{ id: string; tokenVersion: number }>, owner: string, now: number, leaseMs: number): Promise<Array<{ lease: Lease; row: ConnectionRecord }>> {
      if (wanted.length === 0) return [];
      const match = wanted.map(() => '(id = ? AND token_version = ?)').join(' OR ');
      const free = '(lease_until IS NULL OR lease_until < ?)';
      const pick = sql.dialect === 'postgres'
        ? `id IN (SELECT id FROM connections WHERE (${match}) AND status <> 'needs_reauth' AND ${free} FOR UPDATE SKIP LOCKED) AND ${free}`
        : `(${match}) AND status <> 'needs_reauth' AND ${free}`;
      const params: SqlValue[] = [owner, now + leaseMs];
      for (const w of wanted) params.push(w.id, w.tokenVersion);
      params.push(now);
      if (sql.dialect === 'postgres') params.push(now);
      const rows = await sql.all(
        `UPDATE connections SET lease_owner = ?, lease_until = ?, lease_fence = lease_fence + 1 WHERE ${pick}
         RETURNING ${selectList(t.connections)}, lease_fence, refresh_inflight_at`, params);
      return rows.map((r) => leasedRow(r, owner));
    },

    /**
     * Records that a provider call is about to start (crash detection) and renews the lease for
     * `leaseMs` from `now`, so the whole call runs under it however long the row waited for its turn.
     * The fence alone decides: every other acquisition (and a re-authorization) moves it on, so an
     * unchanged fence means nobody else took the lease or wrote tokens since, even if it ran out
     * meanwhile. False if the lease is lost.
     */
    async markInFlight(id: string, lease: Lease, now: number, leaseMs: number): Promise<boolean> {
      const n = await sql.run(
        'UPDATE connections SET refresh_inflight_at = ?, lease_until = ? WHERE id = ? AND lease_owner = ? AND lease_fence = ?',
        [now, now + leaseMs, id, lease.owner, lease.fence]);
      return n === 1;
    },

    /**
     * Writes the outcome of a refresh and releases the lease — only while the lease is still held.
     * `clearInFlight` is false when the provider's answer is unknown (timeout): the marker stays.
     */
    async finishRefresh(id: string, lease: Lease, now: number, patch: Partial<ConnectionRecord>,
      opts: { newTokens: boolean; clearInFlight: boolean }): Promise<boolean> {
      const extra = ['lease_owner = NULL', 'lease_until = NULL'];
      if (opts.clearInFlight) extra.push('refresh_inflight_at = NULL');
      if (opts.newTokens) extra.push('token_version = token_version + 1');
      const n = await updateWhere(sql, t.connections, patch,
        'id = ? AND lease_owner = ? AND lease_fence = ? AND lease_until >= ?', [id, lease.owner, lease.fence, now], extra.join(', '));
      return n === 1;
    },

    /**
     * For the background scheduler, across organizations: connections whose access token expires
     * before `expiringBefore`, or whose refresh token has not been used since `idleBefore` (providers
     * drop unused ones), soonest expiry first. Skips static credentials and connections a person
     * must fix. Two index range reads (DUE_QUERIES): the cost follows what is due, not how many
     * connections are stored.
     */
    async dueForRefresh(expiringBefore: number, idleBefore: number, limit: number): Promise<ConnectionRecord[]> {
      const [expiring, idle] = await Promise.all([
        selectMany(sql, t.connections, `${DUE_QUERIES.expiring} ORDER BY expires_at LIMIT ?`, [expiringBefore, limit]),
        selectMany(sql, t.connections, `${DUE_QUERIES.idle} ORDER BY obtained_at LIMIT ?`, [idleBefore, limit]),
      ]);
      const byId = new Map<string, ConnectionRecord>();
      for (const c of [...expiring, ...idle]) byId.set(c.id, c);
      return [...byId.values()].sort((a, b) => (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity)).slice(0, limit);
    },
  };
}
