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
