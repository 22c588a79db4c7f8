import { z } from 'zod';
import { iso } from '../../core/clock.ts';
import { KeywayError } from '../../core/errors.ts';
import { actorOf, createOrganization, requireKeyManage, requireUnlimitedKey } from '../../access/index.ts';
import { presentMember } from '../present.ts';
import type { RouteDeps } from './deps.ts';

/** Organizations: an owner creates another (becoming its first owner); each caller sees its own only. */
export function orgRoutes({ def, services }: RouteDeps): void {
  def({
    method: 'POST', url: '/v1/orgs', tag: 'orgs', status: 201,
    body: z.strictObject({ name: z.string().trim().min(1).max(200) }),
    summary: 'Create an organization (owners only): the caller becomes its first owner, signing in there with the one-time link in this answer (15 minutes) or single sign-on',
    handler: async ({ body, principal }) => {
      requireKeyManage(principal);
      requireUnlimitedKey(principal, 'create organizations');
      if (principal.role !== 'owner') throw new KeywayError('forbidden', 'Only an owner of an organization may create another one.');
      const me = await services.store.members.get(principal.orgId, principal.memberId);
      if (!me) throw new KeywayError('unauthorized', 'The calling member no longer exists.');
      const made = await createOrganization(services, {
        name: body.name, owner: { email: me.email, name: me.name, oidcIssuer: me.oidcIssuer ?? null, oidcSubject: me.oidcSubject ?? null },
      }, services.config.publicUrl);
      services.audit.record({ orgId: principal.orgId, actor: actorOf(principal), action: 'org.create', detail: { org: made.org.id } });
      // The new organization's log names nothing of the one it was created from (isolation).
      services.audit.record({ orgId: made.org.id, actor: { type: 'member', id: made.owner.id }, action: 'org.create', detail: { owner: made.owner.id } });
      return {
        id: made.org.id, name: made.org.name, createdAt: iso(made.org.createdAt), owner: presentMember(made.owner),
        signInUrl: made.signInUrl, signInExpiresAt: iso(made.signInExpiresAt),
        signInNote: 'Shown once: open it to sign in to the new organization as its owner. It works once.',
      };
    },
  });
  def({
    method: 'GET', url: '/v1/orgs/{id}', tag: 'orgs', params: z.object({ id: z.string().max(100) }),
    summary: 'The caller\'s organization (any other is not found)',
    handler: async ({ params, principal }) => {
      const org = params.id === principal.orgId ? await services.store.orgs.get(params.id) : null;
      if (!org) throw new KeywayError('not_found', `No organization ${params.id}.`);
      return { id: org.id, name: org.name, createdAt: iso(org.createdAt), role: principal.role ?? null };
    },
  });
}
