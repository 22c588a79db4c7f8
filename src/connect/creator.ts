import { memberMayManage } from '../access/index.ts';
import { type ConnectionRecord, type ConnectSessionRecord, MEMBER_REMOVED } from '../store/index.ts';
import type { Completion } from './complete.ts';
import type { ConnectFailure } from './outcome.ts';
import { ACCESS_LOST, type CompleteDeps, endSession, failure, sessionEndedMeanwhile } from './session-end.ts';

/**
 * Whether the member who started a session may still finish it: they are still a member of the
 * organization and, for a re-authentication, may still manage the connection (as
 * `POST /v1/connections/{id}/reauthorize` checked when the link was made). Checked when the link is
 * opened and again when it completes: membership, roles and sharing can change in between, and
 * finishing would otherwise give a removed member a connection, or hand them someone else's.
 * Null when they may; otherwise the session error (and problem) to end it with.
 * `conn`: the connection being re-authenticated, when already read.
 */
export async function creatorRefusal(d: Pick<CompleteDeps, 'store'>, s: ConnectSessionRecord, conn?: ConnectionRecord | null): Promise<typeof MEMBER_REMOVED | typeof ACCESS_LOST | null> {
  if (s.createdByMemberId === null) return null; // made before sessions recorded their creator
  const member = await d.store.members.get(s.orgId, s.createdByMemberId);
  if (!member || (member.removedAt ?? null) !== null) return MEMBER_REMOVED;
  if (s.reauthConnectionId === null) return null;
  const target = conn === undefined ? await d.store.connections.get(s.orgId, s.reauthConnectionId) : conn;
  if (!target) return null; // disconnected meanwhile: `reauth_target_gone` says so
  return memberMayManage(member.id, member.role, target) ? null : ACCESS_LOST;
}

/**
 * Refuses a completion whose creator may no longer finish it: the session ends failed, and the new
 * tokens are dropped, not revoked — at many providers revoking ends the whole grant, which a
 * connection still in the organization (the one being re-authenticated, or a shared one this person
 * authorized) may share.
 */
export async function refuseCreator(d: CompleteDeps, c: Completion, refusal: typeof MEMBER_REMOVED | typeof ACCESS_LOST): Promise<ConnectFailure> {
  const { session } = c;
  if (!(await endSession(d, session, { status: 'failed', error: refusal }))) return sessionEndedMeanwhile(d, session, c.actor);
  d.audit.record({
    orgId: session.orgId, actor: c.actor, action: session.reauthConnectionId ? 'connection.reauth_refused' : 'connection.connect_failed', outcome: 'error',
    integrationId: session.integrationId, connectionId: session.reauthConnectionId, detail: { session: session.id, reason: refusal, newTokensDiscarded: true },
  });
  return failure(refusal, session.id);
}
