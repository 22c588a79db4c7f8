import { retryWhileStoreUnavailable } from '../core/retry.ts';
import type { Actor } from '../audit/index.ts';
import { type ConnectSessionRecord, type ConnectSessionStatus, MEMBER_REMOVED } from '../store/index.ts';
import { type ConnectFailure, type ConnectProblem, PROBLEM_TEXT } from './outcome.ts';
import type { ConnectServiceDeps } from './service.ts';

/** The session `error` of a re-authentication whose creator may no longer manage the connection. */
export const ACCESS_LOST = 'access_lost';

/** How a session ends: its final status and error (and the connection it made). */
export interface SessionEnd {
  status: Exclude<ConnectSessionStatus, 'pending'>;
  error: string | null;
  connectionId?: string;
}

/** What finishing a connect needs: the connect service's collaborators, less the public URL. */
export type CompleteDeps = Omit<ConnectServiceDeps, 'publicUrl'>;

export function failure(problem: ConnectProblem, sessionId: string | null, extra: Partial<ConnectFailure> = {}): ConnectFailure {
  return { ok: false, sessionId, problem, message: PROBLEM_TEXT[problem], ...extra };
}

/**
 * Ends a session for good, once (a compare-and-set on `pending`; with `liveAt`, also unexpired at
 * that time); a device code is dropped with it. False when it had already ended — another tab's
 * completion, a refusal, its creator's removal — or expired: nothing is written then.
 */
export function endSession(d: Pick<CompleteDeps, 'store'>, s: ConnectSessionRecord, patch: SessionEnd, liveAt?: number): Promise<boolean> {
  return d.store.connectSessions.endIfPending(s.orgId, s.id, { ...patch, deviceCodeEnc: null, nextPollAt: null }, liveAt);
}

/**
 * A session this completion had already ended as connected (`endSession`), whose tokens the store
 * then refused: rewritten as failed. Nobody else writes an ended session, so no compare-and-set.
 */
export async function failClaimedSession(d: Pick<CompleteDeps, 'store'>, s: ConnectSessionRecord): Promise<void> {
  await d.store.connectSessions.update(s.orgId, s.id, { status: 'failed', error: 'store_failed', connectionId: null });
}

/** Why a session can no longer be completed, as the person is told; null while it can. */
export function endedProblem(s: Pick<ConnectSessionRecord, 'status' | 'error' | 'expiresAt'>, now: number): ConnectProblem | null {
  switch (s.status) {
    case 'pending': return s.expiresAt <= now ? 'link_expired' : null;
    case 'connected': return 'link_used';
    case 'expired': return 'link_expired';
    case 'denied': return 'link_ended';
    case 'failed': return s.error === MEMBER_REMOVED || s.error === ACCESS_LOST ? s.error : 'link_ended';
  }
}

/**
 * A completion that came too late: the session ended meanwhile (another tab finished the same link,
 * or it expired). New tokens it brought are dropped, not revoked — they may share a grant with the
 * connection the other tab made. Says how the session ended. `withTokens`: false when the attempt
 * ended without tokens (the provider's error).
 */
export async function sessionEndedMeanwhile(d: CompleteDeps, s: ConnectSessionRecord, actor: Actor, o: { withTokens?: boolean } = {}): Promise<ConnectFailure> {
  const now = await d.store.connectSessions.get(s.orgId, s.id);
  const problem = (now && endedProblem(now, d.clock.now())) ?? 'link_ended';
  d.audit.record({
    orgId: s.orgId, actor, action: 'connection.connect_failed', outcome: 'error', integrationId: s.integrationId, connectionId: s.reauthConnectionId,
    detail: { session: s.id, reason: problem, newTokensDiscarded: o.withTokens ?? true },
  });
  return failure(problem, s.id);
}

/** How long a store call after the code exchange is tried again while the database cannot take it. */
const AFTER_EXCHANGE_MS = 10_000;

/**
 * A store call made once the provider has answered: the authorization code (or device code) is
 * spent, so a database restarting at that moment would otherwise cost the person their connect.
 * Tried again for a few seconds while the database cannot take it (the browser is still waiting).
 */
export function afterExchange<T>(f: () => Promise<T>): Promise<T> {
  const until = performance.now() + AFTER_EXCHANGE_MS;
  return retryWhileStoreUnavailable(f, { until: () => until, firstMs: 100, maxMs: 1000 });
}
