/**
 * Background refresh with an injected clock: connections stay alive with nobody calling, idle
 * refresh tokens are touched before a provider drops them, an outage leads to backoff (counted at
 * the provider) then recovery, and two processes' schedulers never refresh one connection twice.
 * The provider is a small server on 127.0.0.1 that runs on the same injected clock.
 */
import assert from 'node:assert/strict';
import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Refresher, RefreshScheduler, TokenCrypto } from '../src/tokens/index.ts';
import { CookieJar } from './helpers/browserless.ts';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { type RotatingProvider, type RotatingProviderOptions, startRotatingProvider } from './helpers/rotating-provider.ts';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

async function setUp(opts: Omit<RotatingProviderOptions, 'now'>): Promise<{ t: TestKeyway; provider: RotatingProvider; integration: string; close(): Promise<void> }> {
  const t = await startTestKeyway();
  const provider = await startRotatingProvider({ ...opts, now: () => t.clock.now() });
  const made = await t.api('POST', '/v1/integrations', {
    provider: 'custom', clientId: 'bg-client', clientSecret: 'bg-secret-31f0',
    authorizationUrl: `${provider.url}/authorize`, tokenUrl: `${provider.url}/token`, scopes: ['me'],
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  return { t, provider, integration: made.body.id, async close() { await t.close(); await provider.close(); } };
}

async function connect(t: TestKeyway, integration: string, externalId: string): Promise<string> {
  const s = await t.api('POST', '/v1/connect-sessions', { integration, externalId });
  const jar = new CookieJar();
  let res = await jar.fetch(s.body.connectUrl);
  for (let i = 0; i < 4 && res.status === 302; i++) res = await jar.fetch(res.headers.get('location') ?? '');
  assert.equal(res.status, 200);
  return (await t.api('GET', `/v1/connect-sessions/${s.body.id}`)).body.connection;
}

function schedulerFor(t: TestKeyway, tickMs: number, refresher = t.kw.services.refresher, more: { concurrency?: number; perProviderPerSecond?: number } = {}): RefreshScheduler {
  const s = t.kw.services;
  // Pacing per provider is real time; a simulated month must not wait for it.
  return new RefreshScheduler({ store: s.store, clock: t.clock, refresher, policy: { refreshAheadMs: 5 * MIN, failingAfter: 3 }, tickMs, random: () => 0.5, perProviderPerSecond: 100_000, ...more });
}

/** Every connection still renews: its stored refresh token is the live one (a lost rotation shows as invalid_grant here). */
async function assertAllRenewable(t: TestKeyway, provider: RotatingProvider, ids: string[]): Promise<void> {
  for (const id of ids) {
    const forced = await t.api('POST', `/v1/connections/${id}/refresh`);
    const conn = (await t.api('GET', `/v1/connections/${id}`)).body;
    assert.equal(conn.status, 'active', `${id}: ${conn.statusReason}`);
    assert.equal(forced.status, 200);
    assert.ok(provider.isValid((await t.api('GET', `/v1/connections/${id}/token`)).body.accessToken));
  }
  assert.equal(provider.refreshFailures, 0, 'no stored refresh token was already spent');
}

describe('background refresh', () => {
  test('a connection with 10-minute tokens and nobody calling stays active through a simulated month', async () => {
    const env = await setUp({ accessTtlSeconds: 600 });
    const { t, provider } = env;
    try {
      const id = await connect(t, env.integration, 'month');
      const scheduler = schedulerFor(t, 4 * MIN);
      const end = t.clock.now() + 30 * DAY;
      let passes = 0;
      while (t.clock.now() < end && passes < 20_000) {
        t.clock.advance(4 * MIN);
        await scheduler.runOnce();
        passes++;
      }
      const conn = (await t.api('GET', `/v1/connections/${id}`)).body;
      assert.equal(conn.status, 'active');
      assert.ok(Date.parse(conn.accessTokenExpiresAt) > t.clock.now(), 'the token in store is still valid a month later');
      // Refreshed about every 8 minutes: never lapsed, never refreshed needlessly often.
      assert.ok(provider.refreshes >= (30 * DAY) / (10 * MIN) && provider.refreshes <= (30 * DAY) / (7 * MIN), `refreshes: ${provider.refreshes}`);
      assert.equal(provider.refreshFailures, 0);
      const served = (await t.api('GET', `/v1/connections/${id}/token`)).body.accessToken;
      assert.ok(provider.isValid(served));
    } finally {
      await env.close();
    }
  });

  test('an idle refresh token is touched before the provider drops unused ones (90 days)', async () => {
    const env = await setUp({ accessTtlSeconds: null, dropUnusedRefreshAfterMs: 90 * DAY });
    const { t, provider } = env;
    try {
      const touched = await connect(t, env.integration, 'idle-touched');
      const scheduler = schedulerFor(t, DAY);
      for (let d = 0; d < 200; d++) {
        t.clock.advance(DAY);
        await scheduler.runOnce();
      }
      assert.ok(provider.refreshes >= 6 && provider.refreshes <= 8, `touched about every 30 days: ${provider.refreshes}`);
      const forced = await t.api('POST', `/v1/connections/${touched}/refresh`);
      assert.equal(forced.status, 200, 'the refresh token still works after 200 days');
      assert.equal((await t.api('GET', `/v1/connections/${touched}`)).body.status, 'active');
    } finally {
      await env.close();
    }
  });

  test('a provider failing for an hour leads to backoff, not a storm, then the connection recovers with webhooks', async () => {
    const env = await setUp({ accessTtlSeconds: 600 });
    const { t, provider } = env;
    const events: Array<{ headers: IncomingHttpHeaders; type: string }> = [];
    const receiver = createServer((req, res) => {
      let b = '';
      req.on('data', (c: Buffer) => { b += c.toString(); });
      req.on('end', () => { events.push({ headers: req.headers, type: JSON.parse(b).type }); res.writeHead(204).end(); });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      await t.api('POST', '/v1/webhooks', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/h`, events: ['connection.refresh_failing', 'connection.recovered'] });
      const id = await connect(t, env.integration, 'outage');
      const scheduler = schedulerFor(t, 15_000);
      t.clock.advance(8 * MIN);
      provider.failing = true;
      const before = provider.tokenRequests;
      for (let i = 0; i < 240; i++) { // one hour of 15-second passes
        t.clock.advance(15_000);
        await scheduler.runOnce();
      }
      const during = provider.tokenRequests - before;
      assert.ok(during >= 4 && during <= 12, `backoff: ${during} token requests in an hour of 240 passes`);
      assert.equal((await t.api('GET', `/v1/connections/${id}`)).body.status, 'refresh_failing');
      provider.failing = false;
      for (let i = 0; i < 200; i++) {
        t.clock.advance(15_000);
        await scheduler.runOnce();
        if ((await t.api('GET', `/v1/connections/${id}`)).body.status === 'active') break;
      }
      const after = (await t.api('GET', `/v1/connections/${id}`)).body;
      assert.equal(after.status, 'active');
      for (let i = 0; i < 100 && events.length < 2; i++) await sleep(20);
      assert.deepEqual(events.map((e) => e.type), ['connection.refresh_failing', 'connection.recovered']);
    } finally {
      await new Promise<void>((r) => receiver.close(() => r()));
      await env.close();
    }
  });

  test('once started, the scheduler makes its first pass within a fifth of a tick, not a whole tick later', async () => {
    // After a restart, tokens that came due while Keyway was down are renewed at once.
    const env = await setUp({ accessTtlSeconds: 600 });
    const { t, provider } = env;
    const scheduler = schedulerFor(t, 20_000); // ticks of 16–24 s; the first pass at 0.2 × 0.5 × 20 s = 2 s
    try {
      await connect(t, env.integration, 'restart');
      t.clock.advance(9 * MIN); // a minute left of ten: inside the refresh-ahead window (15 % of the lifetime)
      const before = provider.refreshes;
      const started = performance.now();
      scheduler.start();
      while (provider.refreshes === before && performance.now() - started < 10_000) await sleep(50);
      assert.equal(provider.refreshes, before + 1, 'the due connection was refreshed by a pass within 10 s of starting, long before a whole tick (16 s at the least)');
    } finally {
      await scheduler.stop();
      await env.close();
    }
  });

  test('two processes\u2019 schedulers passing at once refresh each due connection exactly once', async () => {
    const env = await setUp({ accessTtlSeconds: 600 });
    const { t, provider } = env;
    try {
      const ids = [];
      for (let i = 0; i < 30; i++) ids.push(await connect(t, env.integration, `pair-${i}`));
      const s = t.kw.services;
      // A second "process": its own refresher (own lease owner id) over the same database.
      const other = new Refresher({
        store: s.store, clock: t.clock, crypto: new TokenCrypto(s.vault), audit: s.audit,
        policy: { refreshAheadMs: 5 * MIN, failingAfter: 3 }, processId: 'proc_other', leaseMs: 30_000, pollMs: 5,
        oauthContext: (i, v) => s.integrations.oauthContext(i, v),
      });
      const a = schedulerFor(t, 15_000);
      const b = schedulerFor(t, 15_000, other);
      t.clock.advance(9 * MIN);
      const before = provider.refreshes;
      await Promise.all([a.runOnce(), b.runOnce()]);
      assert.equal(provider.refreshes - before, 30);
      await Promise.all([a.runOnce(), b.runOnce()]);
      assert.equal(provider.refreshes - before, 30, 'nothing is due any more');
      assert.equal(provider.refreshFailures, 0);
      for (const id of ids) assert.equal((await t.api('GET', `/v1/connections/${id}`)).body.status, 'active');
    } finally {
      await env.close();
    }
  });

  test('a slow provider gets up to KEYWAY_REFRESH_CONCURRENCY refreshes at once, and every rotated token is stored', async () => {
    const env = await setUp({ accessTtlSeconds: 600 });
    const { t, provider } = env;
    try {
      const ids = [];
      for (let i = 0; i < 6; i++) ids.push(await connect(t, env.integration, `slow-${i}`));
      // Each answer waits until all six calls are open at the provider (bounded, so a pass that
      // calls one at a time still ends, and fails the count below).
      provider.beforeAnswer = async () => {
        for (let i = 0; i < 200 && provider.openRefreshes < ids.length; i++) await sleep(10);
      };
      t.clock.advance(9 * MIN);
      assert.equal(await schedulerFor(t, 15_000, undefined, { concurrency: 8 }).runOnce(), 6);
      assert.equal(provider.maxOpenRefreshes, 6, 'the six refreshes were open at the provider at the same time');
      provider.beforeAnswer = null;
      await assertAllRenewable(t, provider, ids);
    } finally {
      await env.close();
    }
  });

  test('a refresh that waited its turn behind slow ones still gets a whole lease for its provider call: no rotated token is lost', async () => {
    const env = await setUp({ accessTtlSeconds: 600 });
    const { t, provider } = env;
    try {
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await connect(t, env.integration, `paced-${i}`));
      // Each answer comes 14 s (of the test's clock) after the call arrived: inside the 15 s
      // provider timeout, but three in a row outlast a 30 s lease taken before the first.
      provider.beforeAnswer = async () => {
        const answerAt = t.clock.now() + 14_000;
        await sleep(0);
        if (t.clock.now() < answerAt) t.clock.set(answerAt);
      };
      t.clock.advance(9 * MIN);
      // One call a second to this provider: the second and third wait for their turn.
      const refreshed = await schedulerFor(t, 15_000, undefined, { concurrency: 3, perProviderPerSecond: 1 }).runOnce();
      provider.beforeAnswer = null;
      await assertAllRenewable(t, provider, ids);
      assert.equal(refreshed, 3);
    } finally {
      await env.close();
    }
  });
});

test('the per-provider pace holds in real time: 60 due connections at 40/s are all refreshed in one pass, paced over more than half a second', async () => {
  const t = await startTestKeyway();
  const provider = await startRotatingProvider({ accessTtlSeconds: 600, now: () => t.clock.now() });
  try {
    const integration = (await t.api('POST', '/v1/integrations', {
      provider: 'custom', clientId: 'pace', clientSecret: 'pace-secret', authorizationUrl: `${provider.url}/authorize`, tokenUrl: `${provider.url}/token`, scopes: ['me'],
    })).body.id;
    for (let i = 0; i < 60; i++) await connect(t, integration, `pace-${i}`);
    const s = t.kw.services;
    const scheduler = new RefreshScheduler({ store: s.store, clock: t.clock, refresher: s.refresher, policy: { refreshAheadMs: 5 * MIN, failingAfter: 3 }, tickMs: 15_000, perProviderPerSecond: 40, concurrency: 8 });
    t.clock.advance(9 * MIN);
    const before = provider.refreshes;
    const started = performance.now();
    assert.equal(await scheduler.runOnce(), 60);
    const took = performance.now() - started;
    assert.equal(provider.refreshes - before, 60);
    // 40 at once from a full bucket, the other 20 paced at 40/s: at least half a second.
    assert.ok(took >= 450, `paced, not bursted: ${took.toFixed(0)} ms`);
  } finally {
    await t.close();
    await provider.close();
  }
});
