import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Clock } from '../core/clock.ts';
import type { Config } from '../core/config.ts';
import { cryptoRandom, systemClock } from '../core/index.ts';
import { type Store, openStoreFor } from '../store/index.ts';
import { MIGRATIONS } from '../store/sql/migrations.ts';
import { MASTER_KEY_FILE, createVault, dataKeysByMasterKey, loadMasterKeys } from '../vault/index.ts';
import { BUILTIN_PROVIDERS_DIR, Catalog, loadDefinitionsFromDir, resolveProvider, type EndpointConfig } from '../catalog/index.ts';
import { createOutbound } from '../outbound/index.ts';

export interface Check {
  name: string;
  ok: boolean;
  /** What was found, and what to do when it is not ok. Never a secret. */
  detail: string;
}

/** The provider id of the sandbox `keyway serve --dev` mounts: not in the catalog, it is part of the server. */
const SANDBOX_PROVIDER = 'sandbox';

/** Clock skew above this breaks token expiry maths and JWT validation. */
const MAX_SKEW_MS = 30_000;

/**
 * `keyway doctor`: the checks an operator runs when something is off — database and schema, the
 * master key (it must decrypt what is stored), clock skew against the providers' Date headers, and
 * whether each integration's token endpoint answers. Read-only: it changes nothing.
 */
export async function doctor(config: Config, env: NodeJS.ProcessEnv, clock: Clock = systemClock): Promise<Check[]> {
  const checks: Check[] = [];
  const dataDir = resolve(config.dataDir);
  let store: Store | null = null;
  if (!config.databaseUrl && !existsSync(join(dataDir, 'keyway.db'))) {
    return [{ name: 'database', ok: false, detail: `no database at ${join(dataDir, 'keyway.db')}; run \`keyway migrate\` or start the server (or set KEYWAY_DATA_DIR / KEYWAY_DATABASE_URL)` }];
  }
  try {
    store = openStoreFor(config.databaseUrl, dataDir);
    const pending = await pendingMigrations(store);
    const latest = MIGRATIONS[MIGRATIONS.length - 1]?.id ?? 0;
    checks.push({ name: 'database', ok: true, detail: `${store.kind} reachable` });
    checks.push(pending.length === 0
      ? { name: 'schema', ok: true, detail: `migrations up to ${latest} applied` }
      : { name: 'schema', ok: false, detail: `migrations ${pending.join(', ')} not applied; run \`keyway migrate\` (or start the server, which migrates)` });
  } catch (e) {
    checks.push({ name: 'database', ok: false, detail: `${config.databaseUrl ? 'PostgreSQL' : 'SQLite'} not usable: ${safeMessage(e)}. Check KEYWAY_DATABASE_URL / the data directory, then run \`keyway migrate\`.` });
    await store?.close().catch(() => undefined);
    return checks;
  }
  try {
    if (checks.some((c) => !c.ok)) return checks; // an unmigrated database has nothing more to check
    checks.push(await masterKeyCheck(store, dataDir, env));
    for (const c of await providerChecks(store, config, clock)) checks.push(c);
  } finally {
    await store.close();
  }
  return checks;
}

async function pendingMigrations(store: Store): Promise<number[]> {
  const done = new Set(await store.appliedMigrations());
  return MIGRATIONS.map((m) => m.id).filter((id) => !done.has(id));
}

async function masterKeyCheck(store: Store, dataDir: string, env: NodeJS.ProcessEnv): Promise<Check> {
  if (env['KEYWAY_MASTER_KEY'] === undefined && !existsSync(join(dataDir, MASTER_KEY_FILE))) {
    return { name: 'master key', ok: false, detail: `no KEYWAY_MASTER_KEY and no ${join(dataDir, MASTER_KEY_FILE)}; \`keyway serve\` generates one on first start, or set KEYWAY_MASTER_KEY` };
  }
  try {
    const masterKeys = await loadMasterKeys({ dataDir, env, random: cryptoRandom });
    const vault = createVault({ masterKeys, dataKeys: store.dataKeys, random: cryptoRandom, clock: systemClock });
    let sample: { orgId: string; id: string; enc: string } | null = null;
    for (const org of await store.orgs.list()) {
      const integ = (await store.integrations.list(org.id)).find((i) => i.clientSecretEnc !== null);
      if (integ?.clientSecretEnc) { sample = { orgId: org.id, id: integ.id, enc: integ.clientSecretEnc }; break; }
    }
    // Every data key must be under a configured master key; ones under an older key mean a rotation is not finished.
    const byKid = await dataKeysByMasterKey(store.dataKeys);
    const unknown = [...byKid].filter(([kid]) => !masterKeys.all.has(kid));
    if (unknown.length > 0) {
      const n = unknown.reduce((a, [, c]) => a + c, 0);
      return { name: 'master key', ok: false, detail: `${n} data key${n === 1 ? ' is' : 's are'} wrapped under a master key that is not configured (${unknown.map(([kid]) => kid).join(', ')}), so the secrets under ${n === 1 ? 'it' : 'them'} cannot be decrypted. The key does not match what the data was encrypted with: set the right KEYWAY_MASTER_KEY, and the old one in KEYWAY_PREVIOUS_MASTER_KEYS during a rotation (\`keyway master-key status\` shows every data key's master key)` };
    }
    const older = [...byKid].filter(([kid]) => kid !== masterKeys.active.kid).reduce((a, [, c]) => a + c, 0);
    const rotation = older > 0 ? `; ${older} data key${older === 1 ? ' is' : 's are'} still under an older master key: run \`keyway master-key rewrap\` to finish the rotation` : '';
    if (!sample) return { name: 'master key', ok: true, detail: `loaded from ${masterKeys.source}; nothing stored yet to decrypt${rotation}` };
    await vault.decrypt({ orgId: sample.orgId, recordId: sample.id, field: 'client_secret' }, sample.enc);
    return { name: 'master key', ok: true, detail: `loaded from ${masterKeys.source}; decrypts stored secrets${rotation}` };
  } catch (e) {
    return { name: 'master key', ok: false, detail: `${safeMessage(e)}. The key does not match what the data was encrypted with: set the right KEYWAY_MASTER_KEY, and the old one in KEYWAY_PREVIOUS_MASTER_KEYS during a rotation.` };
  }
}

async function providerChecks(store: Store, config: Config, clock: Clock): Promise<Check[]> {
  const catalog = new Catalog(loadDefinitionsFromDir(BUILTIN_PROVIDERS_DIR));
  const outbound = createOutbound({ dev: config.dev, allowPrivateHosts: config.allowPrivateHosts, timeoutMs: 5000 });
  const checks: Check[] = [];
  let skew: number | null = null;
  for (const org of await store.orgs.list()) {
    for (const integ of await store.integrations.list(org.id)) {
      if (integ.provider === SANDBOX_PROVIDER) {
        checks.push({ name: `provider ${integ.name}`, ok: true, detail: `the development sandbox: \`keyway serve --dev\` runs it inside the server itself (at ${config.publicUrl}/sandbox), so there is no provider to check` });
        continue;
      }
      const def = catalog.get(integ.provider);
      if (!def) {
        checks.push({ name: `provider ${integ.name}`, ok: false, detail: `provider "${integ.provider}" is not in this version's catalog` });
        continue;
      }
      const endpoint = resolveProvider(def, integ.config as EndpointConfig).tokenEndpoint;
      if (!endpoint || endpoint.includes('{')) continue; // per-connection URL (tenant, subdomain): nothing to probe
      const started = performance.now();
      try {
        const res = await outbound.fetch(endpoint, { method: 'POST', body: '', redirect: 'manual' });
        await res.body?.cancel();
        const date = Date.parse(res.headers.get('date') ?? '');
        const tookMs = performance.now() - started;
        // The provider's Date was stamped about half the round trip before we received it.
        if (!Number.isNaN(date)) skew = Math.max(skew ?? 0, Math.abs(date + tookMs / 2 - clock.now()));
        checks.push({ name: `provider ${integ.name}`, ok: true, detail: `${new URL(endpoint).host} answered HTTP ${res.status} in ${Math.round(tookMs)} ms` });
      } catch (e) {
        checks.push({ name: `provider ${integ.name}`, ok: false, detail: `${new URL(endpoint).host} unreachable: ${safeMessage(e)}` });
      }
    }
  }
  checks.push(skew === null
    ? { name: 'clock', ok: true, detail: 'no provider Date header to compare with' }
    : { name: 'clock', ok: skew < MAX_SKEW_MS, detail: skew < MAX_SKEW_MS ? `within ${Math.ceil(skew / 1000)} s of the providers` : `${Math.round(skew / 1000)} s off the providers' clocks; run NTP — token expiry and ID-token checks need a right clock` });
  return checks;
}

function safeMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/postgres(ql)?:\/\/[^\s]*/gi, 'postgres://…');
}

export function formatChecks(checks: Check[]): string {
  return checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}`).join('\n') + '\n';
}
