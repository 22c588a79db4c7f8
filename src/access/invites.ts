import { KeywayError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { randomToken } from '../core/random.ts';
import type { InviteRecord, MemberRecord, OrgRecord, Role } from '../store/index.ts';
import type { Principal } from './api-keys.ts';
import type { LinkDeps } from './login-links.ts';
import { assertMayGrant, normalizeEmail } from './members.ts';
import { sha256Hex } from './sessions.ts';

/** An invite works once, for 7 days. */
export const INVITE_TTL_MS = 7 * 24 * 3_600_000;
export const INVITE_PATH = '/invite/';

/** Owners invite any role, admins admins and members; the link is shown once and stored as a hash. */
export async function createInvite(d: LinkDeps, p: Principal, input: { email: string; role: Role }, publicUrl: string): Promise<{ record: InviteRecord; url: string }> {
  assertMayGrant(p, input.role);
  const email = normalizeEmail(input.email);
  const already = (await d.store.members.findByEmail(email)).some((m) => m.orgId === p.orgId);
  if (already) throw new KeywayError('conflict', `${email} is already a member of this organization.`);
  const token = randomToken(d.random, 32);
  const now = d.clock.now();
  const record: InviteRecord = {
    id: newId('invite', d.random), orgId: p.orgId, email, role: input.role, tokenHash: sha256Hex(token),
    invitedByMemberId: p.memberId, expiresAt: now + INVITE_TTL_MS, acceptedAt: null, acceptedMemberId: null,
    revokedAt: null, createdAt: now,
  };
  await d.store.invites.insert(record);
  return { record, url: `${publicUrl}${INVITE_PATH}${token}` };
}

const UNUSABLE = 'This invite link is not valid: it was used already, was withdrawn, has expired (invites last 7 days), or was never issued. Ask whoever invited you for a new one.';

/** The invite behind a link, if it can still be accepted; never marks it used. */
export async function openInvite(d: LinkDeps, token: string): Promise<{ invite: InviteRecord; org: OrgRecord }> {
  const invite = await d.store.invites.findByHash(sha256Hex(token));
  if (!invite || invite.acceptedAt !== null || invite.revokedAt !== null || invite.expiresAt <= d.clock.now()) {
    throw new KeywayError('not_found', UNUSABLE);
  }
  const org = await d.store.orgs.get(invite.orgId);
  if (!org) throw new KeywayError('not_found', UNUSABLE);
  return { invite, org };
}

/** Who accepts: with single sign-on, the identity the provider vouched for. */
export interface Acceptor {
  name?: string | undefined;
  /** Required when single sign-on is how the invite is accepted: must be the invited address. */
  verifiedEmail?: string | undefined;
  oidc?: { issuer: string; subject: string } | undefined;
}

/**
 * Accepts an invite once (two acceptances racing make one member): the member is created with the
 * invite's email and role. With single sign-on, the provider's verified email must be the invited one.
 */
export async function acceptInvite(d: LinkDeps, inviteId: string, who: Acceptor): Promise<MemberRecord> {
  const invite = await d.store.invites.getById(inviteId);
  if (!invite) throw new KeywayError('not_found', UNUSABLE);
  if (who.verifiedEmail !== undefined && normalizeEmail(who.verifiedEmail) !== invite.email) {
    throw new KeywayError('forbidden', `This invite is for ${invite.email}, but you signed in as ${normalizeEmail(who.verifiedEmail)}. Sign in with the invited account.`);
  }
  if ((await d.store.members.findByEmail(invite.email)).some((m) => m.orgId === invite.orgId)) {
    throw new KeywayError('conflict', `${invite.email} is already a member of this organization; sign in instead.`);
  }
  const now = d.clock.now();
  const member: MemberRecord = {
    id: newId('member', d.random), orgId: invite.orgId, email: invite.email, name: who.name?.trim() || invite.email,
    role: invite.role, createdAt: now, removedAt: null, oidcIssuer: who.oidc?.issuer ?? null, oidcSubject: who.oidc?.subject ?? null,
  };
  if (!(await d.store.invites.accept(invite.id, member.id, now))) throw new KeywayError('not_found', UNUSABLE);
  await d.store.members.insert(member);
  return member;
}
