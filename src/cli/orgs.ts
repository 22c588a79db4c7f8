import { cryptoRandom, systemClock } from '../core/index.ts';
import { newId } from '../core/ids.ts';
import { createOrganization } from '../access/index.ts';
import { parseArgs } from './args.ts';
import { linkOrigin } from './link-origin.ts';
import { withStore } from './with-store.ts';

/** `keyway org create NAME --owner-email E`: a new organization, its owner, and the owner's sign-in link. */
export async function orgCommand(argv: string[], out: (s: string) => void = (s) => void process.stdout.write(s)): Promise<void> {
  const [sub, ...rest] = argv;
  const { positional, flags } = parseArgs(rest, { 'owner-email': 'string', 'owner-name': 'string', url: 'string', 'data-dir': 'string' });
  const name = positional.join(' ').trim();
  const email = flags['owner-email'];
  if (sub !== 'create' || name === '' || typeof email !== 'string') {
    throw new Error('Usage: keyway org create NAME --owner-email E [--owner-name N] [--url URL] [--data-dir DIR]');
  }
  await withStore(flags['data-dir'] as string | undefined, async (store, config) => {
    const origin = linkOrigin(flags['url'] as string | undefined, config, process.env);
    const made = await createOrganization({ store, clock: systemClock, random: cryptoRandom }, {
      name, owner: { email, name: flags['owner-name'] as string | undefined },
    }, origin.base);
    await store.audit.append([{
      id: newId('audit', cryptoRandom), orgId: made.org.id, at: systemClock.now(), actorType: 'system', actorId: null,
      action: 'org.create', outcome: 'ok', integrationId: null, connectionId: null, detail: { owner: made.owner.id, via: 'cli' },
    }]);
    out(`Organization: ${made.org.id} ("${made.org.name}")\nOwner: ${made.owner.email} (${made.owner.id})\nSign-in link for the owner (works once, for 15 minutes):\n${made.signInUrl}\n`);
    if (origin.note) process.stderr.write(`${origin.note}\n`);
  });
}
