import { z } from 'zod';
import { KeywayError } from '../../core/errors.ts';
import { actorOf, type ConnectionAccess, type Principal, connectionAccess, requireConnectionManage, sharingColumns } from '../../access/index.ts';
import type { ConnectionRecord, MemberRecord } from '../../store/index.ts';
import { presentConnection, presentSharing } from '../present.ts';
import type { Services } from '../services.ts';
import type { RouteDeps } from './deps.ts';

export interface Visible {
  c: ConnectionRecord;
  access: ConnectionAccess;
}

/**
 * A connection the caller may see, with what they may do; 404 otherwise — in another
 * organization, another member's personal connection, or outside the key's scope alike, so
 * existence is never disclosed. A status already due is applied.
 */
export async function loadVisible(services: Services, p: Principal, id: string): Promise<Visible> {
  const c = await services.store.connections.get(p.orgId, id);
  const access = c ? connectionAccess(p, c) : null;
  if (!c || !access) throw new KeywayError('not_found', `No connection ${id}.`);
  return { c: await services.tokens.reviewStatus(c), access };
}

/** The connection as the API shows it, with sharing, owner and the caller's access. */
export function presentVisible(v: Visible, owner: MemberRecord | null, integrationScopes?: string[]) {
  return { ...presentConnection(v.c, integrationScopes), ...presentSharing(v.c, v.access, owner) };
}

/** The owner's member row (former members included), for the "authorized by a former member" mark. */
export async function ownerOf(services: Services, c: ConnectionRecord): Promise<MemberRecord | null> {
  return c.ownerMemberId === null ? null : services.store.members.get(c.orgId, c.ownerMemberId);
}

const body = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  sharing: z.enum(['personal', 'shared']).optional(),
  level: z.enum(['use', 'manage']).optional(),
}).refine((b) => b.name !== undefined || b.sharing !== undefined, 'give "name", or "sharing" (with "level" when shared)')
  .refine((b) => b.level === undefined || b.sharing !== undefined, '"level" goes with "sharing": "shared"');

/** `PATCH /v1/connections/{id}`: rename (who may manage it), or change sharing (its owner or an admin); each change audited. */
export function connectionSharingRoutes({ def, services }: RouteDeps): void {
  def({
    method: 'PATCH', url: '/v1/connections/{id}', tag: 'connections', params: z.object({ id: z.string().max(100) }), body,
    summary: 'Rename a connection, or share it with the organization (level "use": proxy only, never the raw token; "manage": also re-authenticate, rename, disconnect) or make it personal again',
    handler: async ({ params, body: b, principal }) => {
      const v = await loadVisible(services, principal, params.id);
      const { c } = v;
      const owner = await ownerOf(services, c);
      const patch: Partial<ConnectionRecord> = {};
      if (b.sharing !== undefined) {
        if (!v.access.canChangeSharing) throw new KeywayError('forbidden', 'Only the connection\'s owner or an admin of the organization may change who it is shared with.');
        Object.assign(patch, sharingColumns({ sharing: b.sharing, level: b.level }, owner !== null && (owner.removedAt ?? null) === null));
      }
      if (b.name !== undefined) {
        requireConnectionManage(v.access);
        patch.name = b.name;
      }
      patch.updatedAt = Math.max(services.clock.now(), c.updatedAt);
      await services.store.connections.update(principal.orgId, c.id, patch);
      // Who may use it is decided on the cached row: this process sees the change from the next call
      // (other processes within a second, through the cache's re-check).
      services.tokens.invalidate(c.id);
      const actor = actorOf(principal);
      if (b.sharing !== undefined) {
        services.audit.record({
          orgId: c.orgId, actor, action: 'connection.share', integrationId: c.integrationId, connectionId: c.id,
          detail: { from: { sharing: c.sharing ?? 'personal', level: c.shareLevel ?? null }, to: { sharing: patch.sharing, level: patch.shareLevel ?? null } },
        });
      }
      if (b.name !== undefined && b.name !== c.name) {
        services.audit.record({ orgId: c.orgId, actor, action: 'connection.rename', integrationId: c.integrationId, connectionId: c.id, detail: { from: c.name, to: b.name } });
      }
      const updated = { ...c, ...patch };
      const access = connectionAccess(principal, updated);
      // Made personal by an admin who is not its owner: it is no longer theirs to see.
      if (!access) return undefined;
      return presentVisible({ c: updated, access }, owner);
    },
  });
}
