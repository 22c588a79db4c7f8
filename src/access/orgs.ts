import { KeywayError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { MemberRecord, OrgRecord } from '../store/index.ts';
import { type LinkDeps, createLoginLink } from './login-links.ts';
import { normalizeEmail } from './members.ts';

/**
 * A new organization with its first owner, and a one-time sign-in link (15 minutes) for that owner:
 * no password and no key is made; the owner signs in with the link, or with single sign-on by the
 * same verified email.
 */
export async function createOrganization(d: LinkDeps, input: {
  name: string; owner: { email: string; name?: string | undefined; oidcIssuer?: string | null; oidcSubject?: string | null };
}, publicUrl: string): Promise<{ org: OrgRecord; owner: MemberRecord; signInUrl: string; signInExpiresAt: number }> {
  const name = input.name.trim();
  const email = normalizeEmail(input.owner.email);
  if (name === '' || name.length > 200) throw new KeywayError('invalid_request', 'An organization needs a name of 1 to 200 characters.');
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new KeywayError('invalid_request', `"${input.owner.email}" is not an email address; the first owner is named by their email.`);
  const now = d.clock.now();
  const org: OrgRecord = { id: newId('org', d.random), name, createdAt: now };
  const owner: MemberRecord = {
    id: newId('member', d.random), orgId: org.id, email, name: input.owner.name?.trim() || email, role: 'owner', createdAt: now,
    removedAt: null, oidcIssuer: input.owner.oidcIssuer ?? null, oidcSubject: input.owner.oidcSubject ?? null,
  };
  await d.store.orgs.insert(org);
  await d.store.members.insert(owner);
  const link = await createLoginLink(d, owner, publicUrl);
  return { org, owner, signInUrl: link.url, signInExpiresAt: link.record.expiresAt };
}
