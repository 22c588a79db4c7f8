import { MAX_KEY_DAYS, MAX_ROLL_GRACE_MINUTES, bootstrap, createApiKey, expiresInDays, rollApiKey } from '../access/index.ts';
import { newId } from '../core/ids.ts';
import { cryptoRandom, systemClock } from '../core/index.ts';
import type { ApiKeyRecord, Store } from '../store/index.ts';
import type { AuditAction } from '../audit/index.ts';
import { iso } from '../core/clock.ts';
import { parseArgs } from './args.ts';
import { withStore } from './with-store.ts';

/** `keyway keys create | list | revoke | roll`: on the database directly; running servers see a change within a second. */
export async function keysCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return keysList(rest);
  if (sub === 'revoke') return keysRevoke(rest);
  if (sub === 'roll') return keysRoll(rest);
  if (sub !== 'create') throw new Error('Usage: keyway keys create --name NAME [--expires-in-days N] | keyway keys list | keyway keys revoke ID | keyway keys roll ID [--grace-minutes N]');
  const { positional, flags } = parseArgs(rest, { name: 'string', 'expires-in-days': 'string', 'data-dir': 'string' });
  const name = flags['name'];
  if (typeof name !== 'string' || name.trim() === '') throw new Error('keyway keys create needs --name NAME.');
  if (positional.length > 0) {
    throw new Error(`Unexpected ${positional.map((a) => `"${a}"`).join(' ')}. Usage: keyway keys create --name NAME [--expires-in-days N] [--data-dir DIR] (quote a name with spaces).`);
  }
  const days = flags['expires-in-days'];
  const lasts = days === undefined ? null : Number(days);
  if (lasts !== null && !(Number.isInteger(lasts) && lasts >= 1 && lasts <= MAX_KEY_DAYS)) {
    throw new Error(`--expires-in-days must be a whole number of days from 1 to ${MAX_KEY_DAYS}, got "${String(days)}".`);
  }
  await withStore(flags['data-dir'] as string | undefined, async (store, _config, dataDir) => {
    const deps = { store, random: cryptoRandom, clock: systemClock };
    const { org, admin } = await bootstrap(deps, dataDir);
    const expiresAt = lasts === null ? null : expiresInDays(systemClock.now(), lasts);
    const { key, record } = await createApiKey(deps, { orgId: org.id, memberId: admin.id, name, expiresAt });
    process.stdout.write(`${key}\n`);
    const until = expiresAt === null ? '' : ` It expires at ${iso(expiresAt)}.`;
    process.stderr.write(`Created API key ${record.id} ("${name}") for ${admin.email}. It is shown only this once.${until}\n`);
  });
}

async function keysList(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, { 'data-dir': 'string' });
  await withStore(flags['data-dir'] as string | undefined, async (store) => {
    const rows: string[][] = [['ID', 'NAME', 'PREFIX', 'CREATED', 'LAST USED', 'EXPIRES', 'REVOKED', 'REPLACED BY']];
    const day = (t: number | null) => (t === null ? '-' : new Date(t).toISOString().slice(0, 19).replace('T', ' '));
    for (const org of await store.orgs.list()) {
      for (const k of await store.apiKeys.list(org.id)) {
        rows.push([k.id, k.name, `${k.prefix}…`, day(k.createdAt), day(k.lastUsedAt), day(k.expiresAt), day(k.revokedAt), k.replacedBy ?? '-']);
      }
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
  });
}

/** The key with this id, in whichever organization it is; an error naming where to look when none. */
async function keyById(store: Store, id: string): Promise<ApiKeyRecord> {
  for (const org of await store.orgs.list()) {
    const k = await store.apiKeys.get(org.id, id);
    if (k) return k;
  }
  throw new Error(`No API key ${id}. \`keyway keys list\` shows them.`);
}

/** The audit entry of a change made from the CLI: by the system, `via: 'cli'`. */
async function auditFromCli(store: Store, orgId: string, at: number, action: AuditAction, detail: Record<string, unknown>): Promise<void> {
  await store.audit.append([{
    id: newId('audit', cryptoRandom), orgId, at, actorType: 'system', actorId: null, action,
    outcome: 'ok', integrationId: null, connectionId: null, detail: { ...detail, via: 'cli' },
  }]);
}

async function keysRevoke(argv: string[]): Promise<void> {
  const { positional, flags } = parseArgs(argv, { 'data-dir': 'string' });
  const id = positional[0];
  if (!id || positional.length > 1) throw new Error('Usage: keyway keys revoke ID [--data-dir DIR] (ids are listed by `keyway keys list`).');
  await withStore(flags['data-dir'] as string | undefined, async (store) => {
    const k = await keyById(store, id);
    if (k.revokedAt !== null) {
      process.stdout.write(`API key ${k.id} ("${k.name}") was already revoked.\n`);
      return;
    }
    const now = systemClock.now();
    await store.apiKeys.revoke(k.orgId, k.id, now);
    await auditFromCli(store, k.orgId, now, 'api_key.revoke', { key: k.id });
    process.stdout.write(`Revoked API key ${k.id} ("${k.name}"). Running Keyway servers refuse it within a second.\n`);
  });
}

async function keysRoll(argv: string[]): Promise<void> {
  const { positional, flags } = parseArgs(argv, { 'grace-minutes': 'string', 'data-dir': 'string' });
  const id = positional[0];
  if (!id || positional.length > 1) throw new Error('Usage: keyway keys roll ID [--grace-minutes N] [--data-dir DIR] (ids are listed by `keyway keys list`).');
  const raw = flags['grace-minutes'];
  const grace = raw === undefined ? 0 : Number(raw);
  if (!(Number.isInteger(grace) && grace >= 0 && grace <= MAX_ROLL_GRACE_MINUTES)) {
    throw new Error(`--grace-minutes must be a whole number of minutes from 0 to ${MAX_ROLL_GRACE_MINUTES}, got "${String(raw)}".`);
  }
  await withStore(flags['data-dir'] as string | undefined, async (store) => {
    const k = await keyById(store, id);
    const { record, key, oldEndsAt } = await rollApiKey({ store, random: cryptoRandom, clock: systemClock }, k, grace);
    await auditFromCli(store, k.orgId, systemClock.now(), 'api_key.roll', { key: k.id, newKey: record.id, oldKeyEndsAt: iso(oldEndsAt) });
    process.stdout.write(`${key}\n`);
    const old = grace === 0 ? 'is revoked; running Keyway servers refuse it within a second' : `keeps working until ${iso(oldEndsAt)}`;
    const until = record.expiresAt === null ? '' : ` It expires at ${iso(record.expiresAt)}.`;
    process.stderr.write(`Rolled API key ${k.id} ("${k.name}") into ${record.id}, shown only this once.${until} The old key ${old}.\n`);
  });
}
