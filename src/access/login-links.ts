import type { Clock } from '../core/clock.ts';
import { KeywayError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { type Random, randomToken } from '../core/random.ts';
import type { LoginLinkRecord, MemberRecord, OrgRecord, Store } from '../store/index.ts';
import { sha256Hex } from './sessions.ts';

/** A sign-in link lives 15 minutes and works once. */
export const LOGIN_LINK_TTL_MS = 15 * 60_000;

export interface LinkDeps {
  store: Store;
  clock: Clock;
  random: Random;
}

/** The path a link opens; the token is in it (requests to it are not logged). */
export const LOGIN_LINK_PATH = '/auth/link/';

/**
 * A one-time sign-in link for a member (`keyway login-link`, a new organization's first owner):
 * the token is in the link only; its SHA-256 is stored. No password is ever set.
 */
export async function createLoginLink(d: LinkDeps, member: MemberRecord, publicUrl: string): Promise<{ url: string; record: LoginLinkRecord }> {
  const token = randomToken(d.random, 32);
  const now = d.clock.now();
  const record: LoginLinkRecord = {
    id: newId('loginLink', d.random), orgId: member.orgId, memberId: member.id, tokenHash: sha256Hex(token),
    expiresAt: now + LOGIN_LINK_TTL_MS, usedAt: null, createdAt: now,
  };
  await d.store.loginLinks.insert(record);
  await d.store.loginLinks.purgeExpired(now - LOGIN_LINK_TTL_MS);
  return { url: `${publicUrl}${LOGIN_LINK_PATH}${token}`, record };
}

const UNUSABLE = 'This sign-in link is not valid: it was used already, has expired (links last 15 minutes), or was never issued. Ask for a new one (`npx keyway login-link`).';

/** Who a link would sign in, without using it (the page before the button), or null if it cannot be used. */
export async function previewLoginLink(d: LinkDeps, token: string): Promise<{ member: MemberRecord; org: OrgRecord } | null> {
  const link = await d.store.loginLinks.peek(sha256Hex(token));
  if (!link || link.usedAt !== null || link.expiresAt <= d.clock.now()) return null;
  return memberAndOrg(d, link.orgId, link.memberId);
}

/** Uses a link (once, even with two requests racing) and returns the member it signs in. */
export async function redeemLoginLink(d: LinkDeps, token: string): Promise<MemberRecord> {
  const now = d.clock.now();
  const link = await d.store.loginLinks.consume(sha256Hex(token), now);
  if (!link || link.expiresAt <= now) throw new KeywayError('unauthorized', UNUSABLE);
  const found = await memberAndOrg(d, link.orgId, link.memberId);
  if (!found) throw new KeywayError('unauthorized', UNUSABLE);
  return found.member;
}

async function memberAndOrg(d: LinkDeps, orgId: string, memberId: string): Promise<{ member: MemberRecord; org: OrgRecord } | null> {
  const member = await d.store.members.get(orgId, memberId);
  const org = await d.store.orgs.get(orgId);
  if (!member || (member.removedAt ?? null) !== null || !org) return null;
  return { member, org };
}
