import { cryptoRandom, systemClock } from '../core/index.ts';
import { newId } from '../core/ids.ts';
import type { MemberRecord, Store } from '../store/index.ts';
import { LOGIN_LINK_TTL_MS, createLoginLink, normalizeEmail } from '../access/index.ts';
import { parseArgs } from './args.ts';
import { linkOrigin } from './link-origin.ts';
import { withStore } from './with-store.ts';

async function pickMember(store: Store, email: string | undefined, orgId: string | undefined): Promise<MemberRecord> {
  if (email === undefined) {
    const org = orgId ? await store.orgs.get(orgId) : (await store.orgs.list())[0];
    const owner = org ? (await store.members.list(org.id)).find((m) => m.role === 'owner') : undefined;
    if (!owner) throw new Error(orgId ? `No organization ${orgId} with an owner.` : 'No organization yet: start `keyway serve` once, or run `keyway org create NAME --owner-email E`.');
    return owner;
  }
  const found = (await store.members.findByEmail(normalizeEmail(email))).filter((m) => orgId === undefined || m.orgId === orgId);
  if (found.length === 0) throw new Error(`No member ${email}${orgId ? ` in ${orgId}` : ''}. Invite them first (POST /v1/invites).`);
  if (found.length > 1) throw new Error(`${email} is a member of several organizations (${found.map((m) => m.orgId).join(', ')}); pick one with --org.`);
  return found[0]!;
}

/** `keyway login-link`: a one-time sign-in link, printed (stdout) for the operator to hand over. */
export async function loginLinkCommand(argv: string[], out: (s: string) => void = (s) => void process.stdout.write(s)): Promise<void> {
  const { positional, flags } = parseArgs(argv, { email: 'string', org: 'string', url: 'string', 'data-dir': 'string' });
  if (positional.length > 0) throw new Error('Usage: keyway login-link [--email E] [--org ORG] [--url URL] [--data-dir DIR]');
  await withStore(flags['data-dir'] as string | undefined, async (store, config) => {
    const origin = linkOrigin(flags['url'] as string | undefined, config, process.env);
    const member = await pickMember(store, flags['email'] as string | undefined, flags['org'] as string | undefined);
    const deps = { store, clock: systemClock, random: cryptoRandom };
    const { url, record } = await createLoginLink(deps, member, origin.base);
    await store.audit.append([{
      id: newId('audit', cryptoRandom), orgId: member.orgId, at: systemClock.now(), actorType: 'system', actorId: null,
      action: 'login_link.create', outcome: 'ok', integrationId: null, connectionId: null, detail: { forMember: member.id, link: record.id, via: 'cli' },
    }]);
    out(`${url}\n`);
    process.stderr.write(`Sign-in link for ${member.email} (${member.role} of ${member.orgId}): works once, for ${LOGIN_LINK_TTL_MS / 60_000} minutes.\n`);
    if (origin.note) process.stderr.write(`${origin.note}\n`);
  });
}
