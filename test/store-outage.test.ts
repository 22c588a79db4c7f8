/**
 * When the database cannot take writes for a while (PostgreSQL down, another process holding
 * SQLite's write lock): audit entries are held and stored once it can, none dropped; tokens a
 * provider issued meanwhile (its old refresh token already spent) are kept, not lost; webhook events
 * raised meanwhile are still delivered.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type TestPostgres, postgresUnavailable, startTestPostgres } from './helpers/postgres.ts';
import { type KeywayProcess, call, connectVia, spawnKeyway } from './helpers/processes.ts';
import { type RotatingProvider, startRotatingProvider } from './helpers/rotating-provider.ts';
import { startTestKeyway } from './helpers/keyway.ts';

const skip = postgresUnavailable();

interface Integrated {
  kw: KeywayProcess;
  provider: RotatingProvider;
  key: string;
  integration: string;
  close(): Promise<void>;
}

interface Connected extends Integrated {
  conn: string;
}

/** A Keyway process on `env` with an integration to a rotating provider. */
async function integratedKeyway(env: Record<string, string>): Promise<Integrated> {
  const provider = await startRotatingProvider({ accessTtlSeconds: 3600 });
  const kw = await spawnKeyway(env);
  const close = async (): Promise<void> => {
    await kw.kill();
    await provider.close();
  };
  const key = kw.bootstrapKey();
  const made = await call(kw.url, key, 'POST', '/v1/integrations', {
    provider: 'custom', clientId: 'outage-client', clientSecret: 'outage-secret-51d0',
    authorizationUrl: `${provider.url}/authorize`, tokenUrl: `${provider.url}/token`, apiBaseUrl: `${provider.url}/api`, scopes: ['me'],
  });
  if (made.status !== 201) {
    await close();
    throw new Error(`integration refused: ${JSON.stringify(made.body)}`);
  }
  return { kw, provider, key, integration: made.body.id, close };
}

/** `integratedKeyway` with one connection, its key, member and token already in memory. */
async function connectedKeyway(env: Record<string, string>): Promise<Connected> {
  const k = await integratedKeyway(env);
  try {
    const conn = await connectVia(k.kw.url, k.key, k.integration);
    for (let i = 0; i < 3; i++) {
      assert.equal((await call(k.kw.url, k.key, 'GET', `/v1/connections/${conn}/token`)).status, 200);
      assert.equal((await call(k.kw.url, k.key, 'GET', `/v1/proxy/${conn}/me`)).status, 200);
    }
    return { ...k, conn };
  } catch (e) {
    await k.close();
    throw e;
  }
}

/** How many times `action` on the connection was audited at or after `since` (a grouped entry counts each event). */
async function audited(c: Connected, action: string, since: number): Promise<number> {
  let n = 0;
  let cursor: string | null = null;
  for (let page = 0; page < 20; page++) {
    const q = new URLSearchParams({ connection: c.conn, action, since: new Date(since).toISOString(), limit: '100', ...(cursor ? { cursor } : {}) });
    const r = await call(c.kw.url, c.key, 'GET', `/v1/audit?${q.toString()}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    for (const e of r.body.data as Array<{ detail: { count?: number } }>) n += e.detail.count ?? 1;
    cursor = r.body.nextCursor;
    if (!cursor) break;
  }
  return n;
}

/** Token reads and gateway calls audited since `since`, once as many as `expected` are there (or after 10 s). */
async function auditedSince(c: Connected, since: number, expected: { reads: number; calls: number }): Promise<{ reads: number; calls: number }> {
  let got = { reads: 0, calls: 0 };
  for (let i = 0; i < 50; i++) {
    got = { reads: await audited(c, 'token.read', since), calls: await audited(c, 'proxy.call', since) };
    if (got.reads >= expected.reads && got.calls >= expected.calls) break;
    await sleep(200);
  }
  return got;
}

describe('PostgreSQL down for a few seconds', { skip: skip ?? false }, () => {
  let pgs: TestPostgres;
  const pgEnv = async (): Promise<Record<string, string>> => ({ KEYWAY_DATABASE_URL: await pgs.newDatabase(), KEYWAY_MASTER_KEY: randomBytes(32).toString('base64') });
  before(async () => { pgs = await startTestPostgres(); });
  after(async () => { await pgs?.close(); });

  test('entries of calls made just before PostgreSQL goes down are stored once it is back, none lost', async () => {
    const c = await connectedKeyway(await pgEnv());
    try {
      await sleep(1500); // the warm-up's groups are stored
      const since = Date.now();
      // A burst of calls, then PostgreSQL goes down before their entries are stored: repeated
      // events are held in groups for a second, so theirs meet the database down.
      let reads = 0;
      let calls = 0;
      for (let i = 0; i < 10; i++) {
        if ((await call(c.kw.url, c.key, 'GET', `/v1/connections/${c.conn}/token`)).status === 200) reads++;
        if ((await call(c.kw.url, c.key, 'GET', `/v1/proxy/${c.conn}/me`)).status === 200) calls++;
      }
      assert.deepEqual({ reads, calls }, { reads: 10, calls: 10 });
      pgs.stop();
      await sleep(3000); // the groups close, and the database refuses them
      const during = (await call(c.kw.url, c.key, 'GET', '/v1/audit')).status;
      pgs.start();
      assert.equal(during, 503, 'reading the log while the database is down answers a 503 at once, not after the held entries');

      let back = false;
      for (let i = 0; i < 100 && !back; i++) {
        back = (await call(c.kw.url, c.key, 'GET', '/v1/connections')).status === 200;
        if (!back) await sleep(100);
      }
      assert.ok(back, 'the API recovers once PostgreSQL is back');
      const got = await auditedSince(c, since, { reads, calls });
      assert.deepEqual(got, { reads, calls }, 'every call answered before the outage is audited, once');
      assert.match(c.kw.output(), /audit entries held: the database cannot take them now/, 'the operator is told');
      assert.doesNotMatch(c.kw.output(), /audit entries were not stored|audit write failed/, 'no entry was given up on');
    } finally {
      await c.close();
    }
  });

  test('the new tokens are stored once the database is back (within the refresh lease), and the connection stays active', async () => {
    const c = await connectedKeyway(await pgEnv());
    try {
      // The provider spends the old refresh token on receipt, and answers once PostgreSQL is down.
      const held = c.provider.holdNextRefresh({ rotateThenHold: true });
      const pending = call(c.kw.url, c.key, 'POST', `/v1/connections/${c.conn}/refresh`);
      await held.arrived;
      pgs.stop();
      held.release();
      await sleep(2000);
      pgs.start();

      const res = await pending;
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.status, 'active');
      assert.equal(c.provider.refreshes, 1);
      const token = await call(c.kw.url, c.key, 'GET', `/v1/connections/${c.conn}/token`);
      assert.ok(c.provider.isValid(token.body.accessToken), 'the token issued during the outage is the one handed out');
      // The stored refresh token is the rotated one: the next refresh works.
      const next = await call(c.kw.url, c.key, 'POST', `/v1/connections/${c.conn}/refresh`);
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.equal(c.provider.refreshes, 2);
      assert.equal(c.provider.refreshFailures, 0, 'no spent refresh token was ever sent');
    } finally {
      await c.close();
    }
  });

  test('a connect whose code was exchanged just before it went down ends connected once it is back (the code is spent)', async () => {
    const k = await integratedKeyway(await pgEnv());
    try {
      const held = k.provider.holdNextCodeExchange();
      const connecting = connectVia(k.kw.url, k.key, k.integration);
      await held.arrived;
      pgs.stop();
      held.release();
      await sleep(1500);
      pgs.start();
      const conn = await connecting; // the success page, and the session says connected
      const token = await call(k.kw.url, k.key, 'GET', `/v1/connections/${conn}/token`);
      assert.equal(token.status, 200, JSON.stringify(token.body));
      assert.ok(k.provider.isValid(token.body.accessToken), 'the tokens from that exchange');
    } finally {
      await k.close();
    }
  });

  test('a webhook event raised while it is down is queued once it is back and reaches the receiver', async () => {
    const t = await startTestKeyway({ env: await pgEnv() });
    try {
      const got: string[] = [];
      const receiver = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => { got.push(Buffer.concat(chunks).toString('utf8')); res.writeHead(200).end(); });
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      try {
        const hook = await t.api('POST', '/v1/webhooks', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` });
        assert.equal(hook.status, 201, JSON.stringify(hook.body));
        pgs.stop();
        // What a refresh that found the grant revoked raises, just after writing the status.
        const raised = t.kw.services.webhooks.emit(t.kw.orgId, 'connection.needs_reauth', { connection: { id: 'conn_outage', status: 'needs_reauth' } });
        await sleep(1500);
        pgs.start();
        await raised;
        for (let i = 0; i < 100 && got.length === 0; i++) await sleep(50);
        assert.equal(got.length, 1, 'delivered once');
        const event = JSON.parse(got[0] ?? '{}');
        assert.equal(event.type, 'connection.needs_reauth');
        assert.equal(event.data.connection.id, 'conn_outage');
      } finally {
        await new Promise<void>((r) => receiver.close(() => r()));
      }
    } finally {
      await t.close();
    }
  });
});

describe('another process holding the SQLite write lock', () => {
  test('calls answered while the audit cannot be written are audited once the lock is let go', async () => {
    const c = await connectedKeyway({});
    try {
      await sleep(1500);
      const since = Date.now();
      const other = new DatabaseSync(join(c.kw.dataDir, 'keyway.db'));
      other.exec('BEGIN IMMEDIATE');
      let reads = 0;
      let calls = 0;
      const seen: number[] = [];
      try {
        for (let i = 0; i < 20; i++) {
          const t = await call(c.kw.url, c.key, 'GET', `/v1/connections/${c.conn}/token`);
          const p = await call(c.kw.url, c.key, 'GET', `/v1/proxy/${c.conn}/me?i=${i}`);
          seen.push(t.status, p.status);
          if (t.status === 200) reads++;
          if (p.status === 200) calls++;
          await sleep(50);
        }
        // A write through the API waits up to 5 s for the lock, then says what is wrong; the process
        // goes on answering meanwhile.
        let writeDone = false;
        const write = call(c.kw.url, c.key, 'POST', '/v1/api-keys', { name: 'made during the lock' }).then((r) => { writeDone = true; return r; });
        await sleep(300);
        const meanwhile = await call(c.kw.url, c.key, 'GET', `/v1/connections/${c.conn}/token`);
        assert.equal(meanwhile.status, 200);
        if (meanwhile.status === 200) reads++;
        assert.equal(writeDone, false, 'a read is answered while a write waits for the lock');
        const refused = await write;
        assert.equal(refused.status, 503, JSON.stringify(refused.body));
        assert.equal(refused.headers.get('keyway-error'), 'store_unavailable');
        assert.equal(refused.headers.get('retry-after'), '2');
        assert.equal(refused.body.error.message, 'The database is locked by another process; retry shortly.');
        await sleep(2000); // the audit thread's writes have failed too
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      const got = await auditedSince(c, since, { reads, calls });
      assert.ok(reads > 0 && calls > 0, `calls were answered during the lock: ${seen.join(',')}`);
      assert.deepEqual(got, { reads, calls }, 'every call answered during the lock is audited, once');
      const keys = await call(c.kw.url, c.key, 'GET', '/v1/api-keys');
      assert.ok(!keys.body.data.some((k: { name: string }) => k.name === 'made during the lock'), 'the refused write left nothing behind');
      assert.match(c.kw.output(), /"message":"audit entries are held until the database takes them: The database is locked by another process/, 'the operator is told why');
      assert.match(c.kw.output(), /"msg":"audit entries held: the database cannot take them now; they are stored once it can"/);
      assert.doesNotMatch(c.kw.output(), /audit entries were not stored|audit write failed/, 'no entry was given up on');
    } finally {
      await c.close();
    }
  });
});
