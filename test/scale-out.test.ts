/**
 * Several Keyway processes on one PostgreSQL database (issue "Scale out"): one refresh at a time per
 * connection across processes, single-use refresh tokens never broken, crashes while holding the
 * refresh lock recovered within the lease, and a lost rotation reported instead of looped on.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type TestPostgres, postgresUnavailable, startTestPostgres } from './helpers/postgres.ts';
import { type KeywayProcess, call, connectVia, spawnKeyway } from './helpers/processes.ts';
import { startTestKeyway } from './helpers/keyway.ts';
import { type RotatingProvider, startRotatingProvider } from './helpers/rotating-provider.ts';

const skip = postgresUnavailable();

interface Cluster {
  procs: KeywayProcess[];
  key: string;
  provider: RotatingProvider;
  integration: string;
}

async function startCluster(pgs: TestPostgres, n: number, provider: RotatingProvider, env: Record<string, string> = {}): Promise<Cluster> {
  const shared = { KEYWAY_DATABASE_URL: await pgs.newDatabase(), KEYWAY_MASTER_KEY: randomBytes(32).toString('base64'), ...env };
  const first = await spawnKeyway(shared);
  const rest = await Promise.all(Array.from({ length: n - 1 }, () => spawnKeyway(shared)));
  const key = first.bootstrapKey();
  const made = await call(first.url, key, 'POST', '/v1/integrations', {
    provider: 'custom', clientId: 'scale-client', clientSecret: 'scale-secret-7c1e',
    authorizationUrl: `${provider.url}/authorize`, tokenUrl: `${provider.url}/token`, apiBaseUrl: `${provider.url}/api`, scopes: ['me'],
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  return { procs: [first, ...rest], key, provider, integration: made.body.id };
}

/** Connects through the first process as a browser would (the fake provider approves at once). */
function connect(c: Cluster): Promise<string> {
  return connectVia(c.procs[0]?.url ?? '', c.key, c.integration);
}

async function waitUntilExpired(c: Cluster, conn: string): Promise<void> {
  const got = await call(c.procs[0]?.url ?? '', c.key, 'GET', `/v1/connections/${conn}`);
  const at = Date.parse(got.body.accessTokenExpiresAt);
  await sleep(Math.max(0, at - Date.now() + 30));
}

describe('many Keyway processes on one PostgreSQL', { skip: skip ?? false, timeout: 240_000 }, () => {
  let pgs: TestPostgres;
  before(async () => { pgs = await startTestPostgres(); });
  after(async () => { await pgs?.close(); });

  test('4 processes, 30 rounds of expiry with 400 concurrent token and proxy calls: exactly one refresh per round, every token valid, the connection stays active', async () => {
    const provider = await startRotatingProvider({ accessTtlSeconds: 2 });
    // Refresh-ahead of 0.1 s (the rule's min(…, 15%) keeps it that small): a round under heavy load
    // may take over a second, and must not reach the next token's refresh window.
    const c = await startCluster(pgs, 4, provider, { KEYWAY_REFRESH_AHEAD_SECONDS: '0.1' });
    try {
      const conn = await connect(c);
      // Each process answers once first (its key, member and code paths warmed): a first round that
      // also paid every process's cold start could outlast the new token's own refresh window.
      for (const p of c.procs) {
        assert.equal((await call(p.url, c.key, 'GET', `/v1/connections/${conn}/token`)).status, 200);
        assert.equal((await call(p.url, c.key, 'GET', `/v1/proxy/${conn}/me`)).status, 200);
      }
      for (let round = 0; round < 30; round++) {
        await waitUntilExpired(c, conn);
        const before = provider.refreshes;
        // Half read the token (checked with the provider the moment it arrives: it lives 2 s), half
        // call the provider's API through the gateway (the provider answers 401 to a stale token).
        const results = await Promise.all(Array.from({ length: 400 }, (_, i) => i % 2 === 0
          ? call(c.procs[i % 4]?.url ?? '', c.key, 'GET', `/v1/connections/${conn}/token`)
            .then((r) => ({ ...r, validOnArrival: r.status === 200 && provider.isValid(r.body.accessToken) }))
          : call(c.procs[(i + 1) % 4]?.url ?? '', c.key, 'GET', `/v1/proxy/${conn}/me`)
            .then((r) => ({ ...r, validOnArrival: r.status === 200 && r.body.id === 'user-1' }))));
        for (const r of results) {
          assert.equal(r.status, 200, `round ${round}: ${JSON.stringify(r.body)}`);
          assert.ok(r.validOnArrival, `round ${round}: a call got a token the provider does not accept`);
        }
        assert.equal(provider.refreshes - before, 1, `round ${round}: refreshes at the provider`);
      }
      assert.equal(provider.refreshFailures, 0, 'no refresh token was ever used twice');
      assert.equal(provider.apiRejected, 0, 'the gateway never sent a stale token');
      const final = await call(c.procs[1]?.url ?? '', c.key, 'GET', `/v1/connections/${conn}`);
      assert.equal(final.body.status, 'active');
    } finally {
      await Promise.all(c.procs.map((p) => p.kill()));
      await provider.close();
    }
  });

  test('a process killed while holding the refresh lock before the provider acted: another process takes over within the lease, the connection stays active', async () => {
    const provider = await startRotatingProvider({ accessTtlSeconds: 2 });
    const c = await startCluster(pgs, 2, provider, { KEYWAY_PROVIDER_TIMEOUT_MS: '1000', KEYWAY_REFRESH_LEASE_MS: '2500' });
    const [a, b] = c.procs as [KeywayProcess, KeywayProcess];
    try {
      const conn = await connect(c);
      await waitUntilExpired(c, conn);
      const held = provider.holdNextRefresh({ rotateThenHold: false });
      const pending = call(a.url, c.key, 'GET', `/v1/connections/${conn}/token`).catch(() => null);
      await held.arrived;
      await a.kill('SIGKILL');
      await pending;
      const res = await call(b.url, c.key, 'GET', `/v1/connections/${conn}/token`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(provider.isValid(res.body.accessToken));
      assert.equal(provider.refreshFailures, 0);
      const shown = await call(b.url, c.key, 'GET', `/v1/connections/${conn}`);
      assert.equal(shown.body.status, 'active');
      held.release();
    } finally {
      await Promise.all(c.procs.map((p) => p.kill()));
      await provider.close();
    }
  });

  test('a process killed after the provider rotated the token: the connection turns needs_reauth saying the rotation was lost, and nobody loops on the provider', async () => {
    const provider = await startRotatingProvider({ accessTtlSeconds: 2 });
    const c = await startCluster(pgs, 2, provider, { KEYWAY_PROVIDER_TIMEOUT_MS: '1000', KEYWAY_REFRESH_LEASE_MS: '2500' });
    const [a, b] = c.procs as [KeywayProcess, KeywayProcess];
    try {
      const conn = await connect(c);
      await waitUntilExpired(c, conn);
      const held = provider.holdNextRefresh({ rotateThenHold: true });
      const pending = call(a.url, c.key, 'GET', `/v1/connections/${conn}/token`).catch(() => null);
      await held.arrived;
      await a.kill('SIGKILL');
      await pending;
      held.release();
      const res = await call(b.url, c.key, 'GET', `/v1/connections/${conn}/token`);
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'needs_reauth');
      const shown = await call(b.url, c.key, 'GET', `/v1/connections/${conn}`);
      assert.equal(shown.body.status, 'needs_reauth');
      assert.match(shown.body.statusReason, /interrupted/i);
      assert.match(shown.body.statusReason, /never stored/i);
      const attempts = provider.refreshFailures;
      for (let i = 0; i < 5; i++) {
        const again = await call(b.url, c.key, 'GET', `/v1/connections/${conn}/token`);
        assert.equal(again.status, 409);
      }
      assert.equal(provider.refreshFailures, attempts, 'no further refresh attempts once it needs re-authentication');
    } finally {
      await Promise.all(c.procs.map((p) => p.kill()));
      await provider.close();
    }
  });

  test('PostgreSQL restarted under load: calls fail fast with a clear 503 while it is down, recover by themselves, and nothing is lost', async () => {
    const provider = await startRotatingProvider({ accessTtlSeconds: 3600 });
    const t = await startTestKeyway({ env: { KEYWAY_DATABASE_URL: await pgs.newDatabase(), KEYWAY_MASTER_KEY: randomBytes(32).toString('base64') } });
    try {
      const made = await t.api('POST', '/v1/integrations', {
        provider: 'custom', clientId: 'pg-restart', clientSecret: 'pg-restart-secret',
        authorizationUrl: `${provider.url}/authorize`, tokenUrl: `${provider.url}/token`, scopes: ['me'],
      });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const conn = await connectVia(t.kw.url, t.apiKey, made.body.id);
      const token = (await t.api('GET', `/v1/connections/${conn}/token`)).body.accessToken as string;
      assert.ok(provider.isValid(token));

      // Load runs through the outage: 4 workers, bounded in count, until the database is back.
      let loadOn = true;
      const seen: Array<{ status: number; code: string | null }> = [];
      const load = Promise.all(Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < 500 && loadOn; i++) {
          const r = await t.api('GET', w % 2 === 0 ? '/v1/connections' : `/v1/connections/${conn}`);
          seen.push({ status: r.status, code: r.headers.get('keyway-error') });
          await sleep(10);
        }
      }));
      await sleep(100);
      pgs.stop();
      const down = await Promise.all(Array.from({ length: 20 }, () => t.api('GET', '/v1/connections')));
      for (const r of down) {
        assert.equal(r.status, 503);
        assert.equal(r.headers.get('keyway-error'), 'store_unavailable');
        assert.match(r.body.error.message, /database is unavailable( \(\w+\))?; retry shortly/);
        assert.ok(r.headers.get('retry-after'), 'says when to retry');
        assert.doesNotMatch(JSON.stringify(r.body), /postgres:\/\//, 'no connection string in the error');
      }
      pgs.start();
      let recovered = null;
      for (let i = 0; i < 50 && !recovered; i++) {
        const r = await t.api('GET', '/v1/connections');
        if (r.status === 200) recovered = r;
        else await sleep(200);
      }
      assert.ok(recovered, 'the API recovers by itself once PostgreSQL is back');
      loadOn = false;
      await load;
      assert.ok(seen.some((x) => x.status === 200) && seen.some((x) => x.status === 503), 'the load saw both the outage and the service');
      for (const x of seen) assert.ok(x.status === 200 || (x.status === 503 && x.code === 'store_unavailable'), `unexpected answer under load: ${JSON.stringify(x)}`);
      assert.deepEqual(recovered.body.data.map((c: { id: string }) => c.id), [conn]);
      const again = await t.api('GET', `/v1/connections/${conn}/token`);
      assert.equal(again.status, 200);
      assert.equal(again.body.accessToken, token, 'the stored token survived the restart');
    } finally {
      await t.close();
      await provider.close();
    }
  });

  test('caches across processes: a revoked key, a deleted connection and a refresh in one process are seen by the others within a second', async () => {
    const provider = await startRotatingProvider({ accessTtlSeconds: 3600 });
    const c = await startCluster(pgs, 2, provider);
    const [a, b] = c.procs as [KeywayProcess, KeywayProcess];
    try {
      const conn = await connectVia(a.url, c.key, c.integration);
      const other = await connectVia(a.url, c.key, c.integration);
      const made = await call(a.url, c.key, 'POST', '/v1/api-keys', { name: 'worker', scope: { tokenRead: true } });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const key = made.body.key as string;
      // Warm B's caches: the key, both connections' tokens, and a proxied call.
      const first = await call(b.url, key, 'GET', `/v1/connections/${conn}/token`);
      assert.equal(first.status, 200);
      assert.equal((await call(b.url, key, 'GET', `/v1/connections/${other}/token`)).status, 200);
      assert.equal((await call(b.url, key, 'GET', `/v1/proxy/${conn}/me`)).status, 200);

      // A refresh in A: B serves the new token, long before the cached one's own expiry (1 h).
      const refreshed = await call(a.url, c.key, 'POST', `/v1/connections/${conn}/refresh`);
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      const newToken = (await call(a.url, c.key, 'GET', `/v1/connections/${conn}/token`)).body.accessToken;
      assert.notEqual(newToken, first.body.accessToken);
      await sleep(1100);
      assert.equal((await call(b.url, key, 'GET', `/v1/connections/${conn}/token`)).body.accessToken, newToken);

      // A disconnect in A: B refuses the connection.
      assert.equal((await call(a.url, c.key, 'DELETE', `/v1/connections/${other}`)).status, 204);
      await sleep(1100);
      assert.equal((await call(b.url, key, 'GET', `/v1/connections/${other}/token`)).status, 404);
      assert.equal((await call(b.url, key, 'GET', `/v1/proxy/${other}/me`)).status, 404);

      // A key revoked in A: B refuses it.
      assert.equal((await call(a.url, c.key, 'DELETE', `/v1/api-keys/${made.body.id}`)).status, 204);
      await sleep(1100);
      const refused = await call(b.url, key, 'GET', `/v1/connections/${conn}/token`);
      assert.equal(refused.status, 401);
      assert.equal((await call(b.url, key, 'GET', `/v1/proxy/${conn}/me`)).status, 401);
    } finally {
      await Promise.all(c.procs.map((p) => p.kill()));
      await provider.close();
    }
  });
});
