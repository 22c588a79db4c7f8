/**
 * Background refresh at scale on PostgreSQL: N connections (default 10,000) expiring together,
 * refreshed by P Keyway processes (default 4) against a provider on 127.0.0.1 that serves at most
 * 500 refreshes a second with 20 ms latency (10 at a time). Reports the sustained refresh rate and
 * checks that no connection was refreshed twice (every refresh token is single-use at the provider).
 *
 *   node bench/refresh-pg.ts [--connections N] [--processes P]
 *
 * Needs Debian's postgresql (a throwaway cluster is started on a free loopback port) or
 * KEYWAY_TEST_DATABASE_URL. Bounded: it stops after all are refreshed or 5 minutes.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cryptoRandom } from '../src/core/random.ts';
import { systemClock } from '../src/core/clock.ts';
import { newId } from '../src/core/ids.ts';
import { openPostgresStore } from '../src/store/index.ts';
import { createVault, loadMasterKeys } from '../src/vault/index.ts';
import { parseDefinition } from '../src/catalog/index.ts';
import { blankConnection } from '../src/connect/connection-record.ts';
import { TokenCrypto } from '../src/tokens/index.ts';
import { startTestPostgres } from '../test/helpers/postgres.ts';
import { type Proc, startProc } from './procs.ts';

const { values: flags } = parseArgs({ options: { connections: { type: 'string', default: '10000' }, processes: { type: 'string', default: '4' } } });
const N = Number(flags.connections);
const P = Number(flags.processes);
if (!Number.isInteger(N) || N < 1 || N > 200_000 || !Number.isInteger(P) || P < 1 || P > 16) throw new Error('--connections 1..200000, --processes 1..16');
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const PROVIDER_SLOTS = 10;
const PROVIDER_LATENCY_MS = 20;

// ---- the provider: at most 10 refreshes at a time, 20 ms each (so at most 500/s); single-use refresh tokens
const live = new Set<string>();
let refreshes = 0;
let reused = 0;
const perSecond = new Map<number, number>();
let busy = 0;
const waiting: Array<() => void> = [];
const slot = async (): Promise<void> => {
  if (busy < PROVIDER_SLOTS) { busy++; return; }
  await new Promise<void>((r) => waiting.push(r));
};
const release = (): void => {
  const next = waiting.shift();
  if (next) next(); else busy--;
};
const provider = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => { body += c.toString(); });
  req.on('end', () => void (async () => {
    const form = new URLSearchParams(body);
    await slot();
    await new Promise((r) => setTimeout(r, PROVIDER_LATENCY_MS));
    release();
    const rt = form.get('refresh_token') ?? '';
    if (form.get('grant_type') !== 'refresh_token' || !live.delete(rt)) {
      reused++;
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
      return;
    }
    refreshes++;
    const sec = Math.floor(performance.now() / 1000);
    perSecond.set(sec, (perSecond.get(sec) ?? 0) + 1);
    const next = `rt_${randomBytes(9).toString('hex')}`;
    live.add(next);
    res.writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ access_token: `at_${randomBytes(9).toString('hex')}`, refresh_token: next, token_type: 'Bearer', expires_in: 3600 }));
  })());
});
await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
const providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;

const pgs = await startTestPostgres();
const procs: Proc[] = [];
const dirs: string[] = [];
try {
  const databaseUrl = await pgs.newDatabase();
  const env = {
    KEYWAY_DATABASE_URL: databaseUrl, KEYWAY_MASTER_KEY: randomBytes(32).toString('base64'), KEYWAY_DEV: '1', KEYWAY_SANDBOX: '0',
    KEYWAY_LOG_LEVEL: 'warn', KEYWAY_REFRESH_PROVIDER_RATE: '1000', KEYWAY_REFRESH_CONCURRENCY: '16',
  };
  const spawnKeyway = async (background: boolean): Promise<Proc> => {
    const dir = mkdtempSync(join(tmpdir(), 'keyway-bench-refresh-'));
    dirs.push(dir);
    const p = await startProc('keyway', [CLI, 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dir],
      /listening on http:\/\/127\.0\.0\.1:(\d+)/, { ...env, KEYWAY_BACKGROUND_REFRESH: background ? '1' : '0' });
    procs.push(p);
    return p;
  };

  // First start (no background refresh): the organization, then an integration and N connections.
  const first = await spawnKeyway(false);
  const { readFileSync } = await import('node:fs');
  const key = readFileSync(join(dirs[0] ?? '', 'bootstrap-admin-key'), 'utf8').trim();
  const made = await fetch(`http://127.0.0.1:${first.port}/v1/integrations`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'custom', clientId: 'bench', clientSecret: 'bench-secret', authorizationUrl: `${providerUrl}/authorize`, tokenUrl: `${providerUrl}/token` }),
  });
  const integrationId = ((await made.json()) as { id: string }).id;
  await first.stop();
  procs.length = 0;

  const store = openPostgresStore({ connectionString: databaseUrl, max: 16 });
  const masterKeys = await loadMasterKeys({ dataDir: dirs[0] ?? '', env, random: cryptoRandom });
  const crypto = new TokenCrypto(createVault({ masterKeys, dataKeys: store.dataKeys, random: cryptoRandom, clock: systemClock }));
  const org = (await store.orgs.list())[0];
  const integration = org ? await store.integrations.get(org.id, integrationId) : null;
  if (!org || !integration) throw new Error('bootstrap did not create the organization and integration');
  const def = parseDefinition({ id: 'custom', name: 'Bench' }, 'bench');
  const seedStart = performance.now();
  const now = systemClock.now();
  let nextIndex = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i = nextIndex++; i < N; i = nextIndex++) {
      const c = blankConnection({ id: newId('connection', cryptoRandom), orgId: org.id, integration, def, kind: 'oauth2', ownerMemberId: null, choices: { externalId: `bench-${i}` }, requestedScopes: [], account: null, now });
      const rt = `rt_seed_${i}_${randomBytes(6).toString('hex')}`;
      live.add(rt);
      c.accessTokenEnc = await crypto.seal(c, 'access_token', `at_seed_${i}`);
      c.refreshTokenEnc = await crypto.seal(c, 'refresh_token', rt);
      c.tokenType = 'Bearer';
      c.obtainedAt = now - 3_540_000; // obtained 59 minutes ago…
      c.expiresAt = now + 60_000; //     …expiring together in a minute: all due now
      await store.connections.insert(c);
    }
  }));
  await store.close();
  process.stdout.write(`seeded ${N} connections expiring together in ${((performance.now() - seedStart) / 1000).toFixed(1)} s\n`);

  // P processes with background refresh; their first pass comes 12–18 s after start (jittered tick).
  await Promise.all(Array.from({ length: P }, () => spawnKeyway(true)));
  const started = performance.now();
  let firstAt: number | null = null;
  while (refreshes + reused < N && performance.now() - started < 300_000) {
    await new Promise((r) => setTimeout(r, 200));
    if (firstAt === null && refreshes > 0) firstAt = performance.now();
  }
  const doneAt = performance.now();
  const secs = [...perSecond.entries()].sort((a, b) => a[0] - b[0]).map(([, n]) => n);
  const full = secs.slice(1, -1); // whole seconds only
  const sustained = full.length > 0 ? full.reduce((a, b) => a + b, 0) / full.length : refreshes / ((doneAt - (firstAt ?? started)) / 1000);
  process.stdout.write([
    `processes: ${P}, connections: ${N}, provider: ≤${(PROVIDER_SLOTS * 1000) / PROVIDER_LATENCY_MS}/s (${PROVIDER_SLOTS} at a time, ${PROVIDER_LATENCY_MS} ms each)`,
    `refreshed: ${refreshes} of ${N} in ${((doneAt - (firstAt ?? started)) / 1000).toFixed(1)} s from the first refresh`,
    `sustained: ${sustained.toFixed(0)} refreshes/s (mean of whole seconds; per second: ${secs.join(' ')})`,
    `refresh tokens used twice (a connection refreshed twice): ${reused}`,
    `goal: ≥ 400/s sustained, none twice — ${sustained >= 400 && reused === 0 && refreshes === N ? 'met' : 'NOT met'}`,
  ].join('\n') + '\n');
} finally {
  await Promise.all(procs.map((p) => p.stop().catch(() => undefined)));
  provider.close();
  await pgs.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
