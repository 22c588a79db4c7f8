import type { ConnectionRecord, ConnectionStatus } from '../store/index.ts';

export interface RefreshPolicy {
  /** Refresh when the token expires within min(this, 15% of its lifetime). Default 5 minutes. */
  refreshAheadMs: number;
  /** Transient failures in a row before a connection shows `refresh_failing`. */
  failingAfter: number;
}

export const DEFAULT_REFRESH_POLICY: RefreshPolicy = { refreshAheadMs: 5 * 60_000, failingAfter: 3 };

/**
 * DESIGN.md's refresh-ahead rule: refresh before use when the token expires within
 * min(refreshAhead, 15% of its lifetime), so short-lived tokens are not refreshed on every call.
 * A token with no known lifetime is used until the provider answers 401.
 */
export function needsRefresh(c: Pick<ConnectionRecord, 'expiresAt' | 'obtainedAt'>, now: number, policy: RefreshPolicy): boolean {
  if (c.expiresAt === null) return false;
  const remaining = c.expiresAt - now;
  if (remaining <= 0) return true;
  const lifetime = c.obtainedAt === null ? Infinity : Math.max(0, c.expiresAt - c.obtainedAt);
  return remaining <= Math.min(policy.refreshAheadMs, 0.15 * lifetime);
}

export function isExpired(c: Pick<ConnectionRecord, 'expiresAt'>, now: number): boolean {
  return c.expiresAt !== null && c.expiresAt <= now;
}

/** Status fields for a transition; `statusSince` moves only when the status changes. */
export function statusPatch(c: Pick<ConnectionRecord, 'status' | 'statusSince'>, status: ConnectionStatus, reason: string | null, now: number):
  Pick<ConnectionRecord, 'status' | 'statusReason' | 'statusSince'> {
  return { status, statusReason: reason, statusSince: c.status === status ? c.statusSince : now };
}

/** After a transient failure: still usable; amber after `failingAfter` in a row. */
export function afterTransientFailure(c: ConnectionRecord, reason: string, now: number, policy: RefreshPolicy): Partial<ConnectionRecord> {
  const failures = c.refreshFailures + 1;
  const status: ConnectionStatus = c.status === 'needs_reauth' ? 'needs_reauth' : failures >= policy.failingAfter ? 'refresh_failing' : c.status;
  return { refreshFailures: failures, ...statusPatch(c, status, status === 'active' ? c.statusReason : reason, now), updatedAt: now };
}

/**
 * Why a connection must be reconnected by a person, judged from what is stored, before any call
 * fails: its refresh token has expired (from `refresh_token_expires_in` or the definition's
 * lifetime), or its access token has expired with no refresh token. Null when it can still work.
 * Machine (client credentials) and static (API key, Basic) connections never expire this way.
 */
export function deadReason(c: Pick<ConnectionRecord, 'kind' | 'refreshTokenEnc' | 'refreshExpiresAt' | 'expiresAt'>, now: number): string | null {
  if (c.kind !== 'oauth2') return null;
  if (c.refreshTokenEnc !== null) {
    if (c.refreshExpiresAt === null || c.refreshExpiresAt > now) return null;
    return `The refresh token expired at ${new Date(c.refreshExpiresAt).toISOString()} (the provider limits how long it lives), so the access token can no longer be renewed. Reconnect to restore access.`;
  }
  if (c.expiresAt !== null && c.expiresAt <= now) {
    return 'The access token expired and the provider gave no refresh token. Reconnect to restore access.';
  }
  return null;
}
