import { z } from 'zod';
import { iso } from '../../core/clock.ts';
import { KeywayError } from '../../core/errors.ts';
import { actorOf, ROLES, createInvite, requireOrgAdmin } from '../../access/index.ts';
import type { InviteRecord } from '../../store/index.ts';
import type { RouteDeps } from './deps.ts';

/** An invite as the API shows it: never its link after creation (only its hash is kept). */
export function presentInvite(i: InviteRecord, now: number) {
  const status: 'accepted' | 'revoked' | 'expired' | 'pending' = i.acceptedAt !== null ? 'accepted' : i.revokedAt !== null ? 'revoked' : i.expiresAt <= now ? 'expired' : 'pending';
  return {
    id: i.id, email: i.email, role: i.role, invitedBy: i.invitedByMemberId, status,
    expiresAt: iso(i.expiresAt), createdAt: iso(i.createdAt),
  };
}

/** Invites (owners and admins): a single-use link valid 7 days, shown once. */
export function inviteRoutes({ def, services }: RouteDeps): void {
  const { store, clock } = services;
  def({
    method: 'POST', url: '/v1/invites', tag: 'members', status: 201,
    body: z.strictObject({ email: z.email().max(320), role: z.enum(ROLES).default('member') }),
    summary: 'Invite someone by email with a role; the single-use link (valid 7 days) is in this answer only',
    handler: async ({ body, principal }) => {
      requireOrgAdmin(principal, 'manage invites');
      const { record, url } = await createInvite(services, principal, body, services.config.publicUrl);
      services.audit.record({ orgId: principal.orgId, actor: actorOf(principal), action: 'member.invite', detail: { invite: record.id, email: record.email, role: record.role } });
      return { ...presentInvite(record, clock.now()), inviteUrl: url, inviteUrlNote: 'Shown once: send it to the person. It works once and expires in 7 days.' };
    },
  });
  def({
    method: 'GET', url: '/v1/invites', tag: 'members', summary: 'Invites not yet accepted or withdrawn (never their links)',
    handler: async ({ principal }) => {
      requireOrgAdmin(principal, 'manage invites');
      const now = clock.now();
      return { data: (await store.invites.listOpen(principal.orgId)).map((i) => presentInvite(i, now)), nextCursor: null };
    },
  });
  def({
    method: 'DELETE', url: '/v1/invites/{id}', tag: 'members', params: z.object({ id: z.string().max(100) }),
    summary: 'Withdraw an invite: its link stops working',
    handler: async ({ params, principal }) => {
      requireOrgAdmin(principal, 'manage invites');
      if ((await store.invites.revoke(principal.orgId, params.id, clock.now())) === 0) throw new KeywayError('not_found', `No open invite ${params.id}.`);
      services.audit.record({ orgId: principal.orgId, actor: actorOf(principal), action: 'member.invite_revoke', detail: { invite: params.id } });
      return undefined;
    },
  });
}
