import { z } from 'zod';
import { KeywayError } from '../../core/errors.ts';
import { actorOf, LAST_OWNER, ROLES, type Principal, assertMayChangeRole, assertMayRemove, requireKeyManage, requireOrgAdmin, requireUnlimitedKey } from '../../access/index.ts';
import type { ConnectionRecord, MemberRecord } from '../../store/index.ts';
import { presentMember } from '../present.ts';
import type { Services } from '../services.ts';
import type { RouteDeps } from './deps.ts';

const idParam = z.object({ id: z.string().max(100) });

async function currentMember(services: Services, p: Principal, id: string): Promise<MemberRecord> {
  const m = await services.store.members.get(p.orgId, id);
  if (!m || (m.removedAt ?? null) !== null) throw new KeywayError('not_found', `No member ${id}.`);
  return m;
}

/** Every connection a member authorized, across the organization's pages. */
async function connectionsOwnedBy(services: Services, orgId: string, memberId: string): Promise<ConnectionRecord[]> {
  const owned: ConnectionRecord[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await services.store.connections.list(orgId, {}, { limit: 200, cursor });
    owned.push(...page.data.filter((c) => c.ownerMemberId === memberId));
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  return owned;
}

/**
 * Removes a member (or lets one leave): their API keys are revoked, their sessions and pending
 * connect links ended, in one transaction, and dropped from this process's caches at once (other
 * processes re-check keys within a second; sessions are read on every request). Their personal connections are
 * disconnected (revoked at the provider); the shared ones stay, marked as authorized by a former member.
 */
async function removeMember(services: Services, p: Principal, target: MemberRecord) {
  const removed = await services.store.members.remove(p.orgId, target.id, services.clock.now());
  if (removed === 'missing') throw new KeywayError('not_found', `No member ${target.id}.`);
  if (removed === 'last_owner') throw new KeywayError('conflict', LAST_OWNER);
  for (const keyId of removed.revokedKeyIds) services.keys.forget(keyId);
  services.members.forget(target.id);
  const actor = actorOf(p);
  const owned = await connectionsOwnedBy(services, p.orgId, target.id);
  const disconnected: string[] = [];
  const keptShared: string[] = [];
  for (const c of owned) {
    if ((c.sharing ?? 'personal') === 'shared') {
      keptShared.push(c.id);
      continue;
    }
    if (await services.connections.disconnectUnlessGone(c, actor)) disconnected.push(c.id);
  }
  services.audit.record({
    orgId: p.orgId, actor, action: 'member.remove',
    detail: { targetMember: target.id, left: target.id === p.memberId, revokedKeys: removed.revokedKeyIds, endedSessions: removed.endedSessions, endedConnectSessions: removed.endedConnectSessions, disconnected, keptShared },
  });
  return { member: target.id, revokedKeys: removed.revokedKeyIds.length, endedSessions: removed.endedSessions, disconnectedConnections: disconnected, sharedConnectionsKept: keptShared };
}

/** Members of the caller's organization: list, change a role, remove (or leave). */
export function memberRoutes({ def, services }: RouteDeps): void {
  def({
    method: 'GET', url: '/v1/members', tag: 'members', summary: 'The organization\'s members with their roles',
    handler: async ({ principal }) => ({ data: (await services.store.members.list(principal.orgId)).map(presentMember), nextCursor: null }),
  });
  def({
    method: 'GET', url: '/v1/members/{id}', tag: 'members', params: idParam,
    summary: 'One member, current or former (a former member still names who authorized a connection)',
    handler: async ({ params, principal }) => {
      const m = await services.store.members.get(principal.orgId, params.id);
      if (!m) throw new KeywayError('not_found', `No member ${params.id}.`);
      return presentMember(m);
    },
  });
  def({
    method: 'PATCH', url: '/v1/members/{id}', tag: 'members', params: idParam,
    body: z.strictObject({ role: z.enum(ROLES) }),
    summary: 'Change a member\'s role: owners and admins; only owners make or change owners; the last owner stays an owner',
    handler: async ({ params, body, principal }) => {
      requireOrgAdmin(principal, 'change members\' roles');
      const target = await currentMember(services, principal, params.id);
      assertMayChangeRole(principal, target, body.role);
      const result = await services.store.members.setRole(principal.orgId, target.id, body.role);
      if (result === 'missing') throw new KeywayError('not_found', `No member ${params.id}.`);
      if (result === 'last_owner') throw new KeywayError('conflict', LAST_OWNER);
      services.members.forget(target.id);
      if (target.role !== body.role) {
        services.audit.record({ orgId: principal.orgId, actor: actorOf(principal), action: 'member.role_change', detail: { targetMember: target.id, from: target.role, to: body.role } });
      }
      return presentMember({ ...target, role: body.role });
    },
  });
  def({
    method: 'DELETE', url: '/v1/members/{id}', tag: 'members', params: idParam,
    summary: 'Remove a member, or leave (your own id): their API keys and sessions end at once, their personal connections are disconnected, shared ones stay',
    handler: async ({ params, principal }) => {
      requireKeyManage(principal);
      requireUnlimitedKey(principal, 'remove members (or leave the organization)');
      const target = await currentMember(services, principal, params.id);
      assertMayRemove(principal, target);
      return removeMember(services, principal, target);
    },
  });
}
