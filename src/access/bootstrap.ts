import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { newId } from '../core/ids.ts';
import type { Random } from '../core/random.ts';
import type { MemberRecord, OrgRecord, Store } from '../store/index.ts';
import { createApiKey } from './api-keys.ts';

export interface BootstrapResult {
  org: OrgRecord;
  admin: MemberRecord;
  /** Set on the first start only: where the bootstrap admin key was written. */
  keyFile: string | null;
}

export const BOOTSTRAP_KEY_FILE = 'bootstrap-admin-key';

/**
 * First start: one organization with one admin member, and an admin API key written to a file
 * (mode 0600) — never printed. Later starts find the organization and change nothing.
 */
export async function bootstrap(deps: { store: Store; random: Random; clock: Clock }, dataDir: string): Promise<BootstrapResult> {
  // Processes starting together on one PostgreSQL database must create one organization, not one each.
  return deps.store.exclusive('bootstrap', () => bootstrapUnlocked(deps, dataDir));
}

async function bootstrapUnlocked(deps: { store: Store; random: Random; clock: Clock }, dataDir: string): Promise<BootstrapResult> {
  const { store, random, clock } = deps;
  const existing = (await store.orgs.list())[0];
  if (existing) {
    const admin = (await store.members.list(existing.id)).find((m) => m.role === 'owner') ?? (await store.members.list(existing.id))[0];
    if (admin) return { org: existing, admin, keyFile: null };
  }
  const now = clock.now();
  const org: OrgRecord = existing ?? { id: newId('org', random), name: 'Default organization', createdAt: now };
  if (!existing) await store.orgs.insert(org);
  const admin: MemberRecord = { id: newId('member', random), orgId: org.id, email: 'admin@localhost', name: 'Admin', role: 'owner', createdAt: now };
  await store.members.insert(admin);
  const { key } = await createApiKey(deps, { orgId: org.id, memberId: admin.id, name: 'bootstrap admin' });
  const keyFile = join(dataDir, BOOTSTRAP_KEY_FILE);
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  return { org, admin, keyFile };
}
