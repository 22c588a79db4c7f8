import { retryWhileStoreUnavailable } from '../core/retry.ts';
import type { ConnectSessionRecord } from '../store/index.ts';
import { type ConnectFailure, type ConnectProblem, PROBLEM_TEXT } from './outcome.ts';
import type { ConnectServiceDeps } from './service.ts';

/** What finishing a connect needs: the connect service's collaborators, less the public URL. */
export type CompleteDeps = Omit<ConnectServiceDeps, 'publicUrl'>;

export function failure(problem: ConnectProblem, sessionId: string | null, extra: Partial<ConnectFailure> = {}): ConnectFailure {
  return { ok: false, sessionId, problem, message: PROBLEM_TEXT[problem], ...extra };
}

/** Ends a session for good; a device code is dropped with it. */
export async function endSession(d: Pick<CompleteDeps, 'store'>, s: ConnectSessionRecord,
  patch: Pick<ConnectSessionRecord, 'status' | 'error'> & { connectionId?: string }): Promise<void> {
  await d.store.connectSessions.update(s.orgId, s.id, { ...patch, deviceCodeEnc: null, nextPollAt: null });
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
