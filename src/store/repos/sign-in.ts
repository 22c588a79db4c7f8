import type { SqlExecutor } from '../sql/executor.ts';
import * as t from '../sql/tables.ts';
import type { LoginLinkRecord, SignInAttemptRecord } from '../records.ts';
import type { Table } from '../sql/table.ts';
import { insertRecord, selectOne, updateWhere } from './common.ts';

/**
 * Reads a row by its secret's hash and marks it used in the same transaction, so it is redeemed
 * once only, even by two requests racing. Null when unknown or already used (expiry is the caller's).
 */
async function consumeOnce<R extends { id: string; usedAt: number | null }>(
  sql: SqlExecutor, table: Table<R>, hashColumn: string, hash: string, now: number,
): Promise<R | null> {
  return sql.transaction(async (tx) => {
    const rec = await selectOne(tx, table, `${hashColumn} = ?`, [hash]);
    if (!rec || rec.usedAt !== null) return null;
    const n = await updateWhere(tx, table, { usedAt: now } as Partial<R>, 'id = ? AND used_at IS NULL', [rec.id]);
    return n === 1 ? { ...rec, usedAt: now } : null;
  });
}

export function loginLinkRepo(sql: SqlExecutor) {
  return {
    insert: (r: LoginLinkRecord) => insertRecord(sql, t.loginLinks, r),
    consume: (tokenHash: string, now: number) => consumeOnce<LoginLinkRecord>(sql, t.loginLinks, 'token_hash', tokenHash, now),
    /** Whether a link is still there to redeem (the page before the button); never marks it used. */
    peek: (tokenHash: string) => selectOne(sql, t.loginLinks, 'token_hash = ?', [tokenHash]),
    purgeExpired: (before: number) => sql.run('DELETE FROM login_links WHERE expires_at < ?', [before]),
  };
}

export function signInAttemptRepo(sql: SqlExecutor) {
  return {
    insert: (r: SignInAttemptRecord) => insertRecord(sql, t.signInAttempts, r),
    consume: (stateHash: string, now: number) => consumeOnce<SignInAttemptRecord>(sql, t.signInAttempts, 'state_hash', stateHash, now),
    purgeExpired: (before: number) => sql.run('DELETE FROM sign_in_attempts WHERE expires_at < ?', [before]),
  };
}
