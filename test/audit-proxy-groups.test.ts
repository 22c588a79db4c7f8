/**
 * Proxied calls are audited in groups too: the same call (method, path, query parameter names) on
 * one connection by one key, with the same answer (status), within KEYWAY_AUDIT_GROUP_MS of the
 * first, is one entry that keeps every call's time and duration (`count`, `laterMs`,
 * `laterDurationMs`). A call that failed or was cut off is always an entry of its own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { type TestKeyway, addIntegration, connectInBrowser, startProvider, startTestKeyway } from './helpers/keyway.ts';
import { type Upstream, startUpstream } from './helpers/upstream.ts';

interface Entry { action: string; at: string; outcome: string; actor: { type: string; id: string }; detail: Record<string, unknown> }

async function setUp(t: TestKeyway, provider: SandboxServer, upstream: Upstream, username: string): Promise<string> {
  const integration = await addIntegration(t, provider, { apiBaseUrl: `${upstream.url}/api` });
  const run = await connectInBrowser(t, provider, integration.id, { username, session: { externalId: username } });
  assert.match(run.page.text, /Connected!/, run.page.text);
  return (await t.api('GET', `/v1/connections?externalId=${username}&integration=${integration.id}`)).body.data[0].id;
}

async function calls(t: TestKeyway, connection: string): Promise<Entry[]> {
  const r = await t.api('GET', `/v1/audit?connection=${connection}&action=proxy.call&limit=100`);
  assert.equal(r.status, 200);
  return r.body.data;
}

/** The provider: 404 under /missing, 200 elsewhere. */
async function provider404(): Promise<Upstream> {
  return startUpstream((req, res) => {
    res.writeHead(req.url?.includes('/missing') ? 404 : 200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
}

describe('proxied calls audited in groups (default window, a second)', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let upstream: Upstream;
  before(async () => {
    provider = await startProvider();
    upstream = await provider404();
    t = await startTestKeyway();
  });
  after(async () => {
    await t.close();
    await provider.close();
    await upstream.close();
  });

  test('the same call with the same answer is one entry with each call\'s time and duration; another path, query names, status or key gets its own', async () => {
    const conn = await setUp(t, provider, upstream, 'grouped-calls');
    const second = await t.api('POST', '/v1/api-keys', { name: 'second caller', scope: {} });
    assert.equal(second.status, 201);
    const call = async (path: string, key = t.apiKey) => {
      const res = await fetch(`${t.kw.url}/v1/proxy/${conn}${path}`, { headers: { authorization: `Bearer ${key}` } });
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await call('/items?page=1&secret=one'), 200);
    t.clock.advance(100);
    assert.equal(await call('/items?page=2&secret=two'), 200);
    t.clock.advance(50);
    assert.equal(await call('/items?page=3&secret=three'), 200);
    assert.equal(await call('/items?cursor=abc'), 200);
    assert.equal(await call('/other'), 200);
    assert.equal(await call('/missing'), 404);
    assert.equal(await call('/missing'), 404);
    assert.equal(await call('/items?page=4&secret=four', second.body.key), 200);

    const got = await calls(t, conn);
    const find = (path: string, query: string[], bySecondKey = false) => got.filter((e) => e.detail['path'] === path && JSON.stringify(e.detail['query']) === JSON.stringify(query) && (e.actor.id === second.body.id) === bySecondKey);
    const pages = find('/items', ['page', 'secret']);
    assert.equal(pages.length, 1, JSON.stringify(got));
    const group = pages[0]!.detail;
    assert.equal(group['count'], 3);
    assert.deepEqual(group['laterMs'], [100, 150], 'each later call\'s time after the entry\'s');
    assert.equal(group['status'], 200);
    assert.equal(group['method'], 'GET');
    assert.equal(typeof group['durationMs'], 'number', 'the first call\'s duration');
    const later = group['laterDurationMs'] as number[];
    assert.equal(later.length, 2);
    assert.ok(later.every((d) => Number.isInteger(d) && d >= 0), JSON.stringify(later));
    assert.equal(pages[0]!.outcome, 'ok');

    for (const [path, query] of [['/items', ['cursor']], ['/other', []]] as const) {
      const one = find(path, [...query]);
      assert.equal(one.length, 1, path);
      assert.equal(one[0]!.detail['count'], undefined, 'one call: an entry as it always was');
      assert.equal(typeof one[0]!.detail['durationMs'], 'number');
    }
    const missing = find('/missing', []);
    assert.equal(missing.length, 1);
    assert.equal(missing[0]!.detail['status'], 404);
    assert.equal(missing[0]!.detail['count'], 2);
    const other = find('/items', ['page', 'secret'], true);
    assert.equal(other.length, 1, 'another key: its own entry');
    assert.equal(other[0]!.detail['count'], undefined);
    assert.equal(got.length, 5, JSON.stringify(got.map((e) => [e.detail['path'], e.detail['query'], e.detail['status'], e.detail['count']])));
    const all = JSON.stringify(got);
    for (const secret of ['one', 'two', 'three', 'four', 'abc']) assert.ok(!all.includes(`"${secret}"`), `query value ${secret} is not in the log`);
  });

  test('calls that failed are entries of their own, each with its error code', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${t.kw.url}/v1/proxy/conn_not_there/items`, { headers: { authorization: `Bearer ${t.apiKey}` } });
      assert.equal(res.status, 404);
      await res.arrayBuffer();
    }
    const r = await t.api('GET', '/v1/audit?action=proxy.call&limit=100');
    const failed = (r.body.data as Entry[]).filter((e) => e.detail['requestedConnection'] === 'conn_not_there');
    assert.equal(failed.length, 2);
    for (const e of failed) {
      assert.equal(e.outcome, 'error');
      assert.equal(e.detail['code'], 'not_found');
      assert.equal(e.detail['count'], undefined);
      assert.equal(typeof e.detail['durationMs'], 'number');
    }
  });
});

describe('proxied calls audited in groups: the window', () => {
  test('KEYWAY_AUDIT_GROUP_MS=0: every call is an entry of its own, with its duration', async () => {
    const t = await startTestKeyway({ env: { KEYWAY_AUDIT_GROUP_MS: '0' } });
    const provider = await startProvider();
    const upstream = await provider404();
    try {
      const conn = await setUp(t, provider, upstream, 'one-entry-each');
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${t.kw.url}/v1/proxy/${conn}/items`, { headers: { authorization: `Bearer ${t.apiKey}` } });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
      const got = await calls(t, conn);
      assert.equal(got.length, 3);
      for (const e of got) {
        assert.equal(e.detail['count'], undefined);
        assert.equal(e.detail['status'], 200);
        assert.equal(typeof e.detail['durationMs'], 'number');
      }
    } finally {
      await t.close();
      await provider.close();
      await upstream.close();
    }
  });
});
