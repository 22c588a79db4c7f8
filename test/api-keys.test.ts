import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { parseDefinition } from '../src/catalog/index.ts';
import { type TestKeyway, addIntegration, connectInBrowser, startProvider, startTestKeyway } from './helpers/keyway.ts';
import { CLI, type SpawnedKeyway, type Upstream, spawnKeyway, startUpstream } from './helpers/upstream.ts';

const run = promisify(execFile);

describe('API keys: create, list, scope, revoke, rate limit', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let upstream: Upstream;
  let integration: string;
  let conn: string;
  let other: string;

  before(async () => {
    provider = await startProvider();
    upstream = await startUpstream();
    t = await startTestKeyway();
    integration = (await addIntegration(t, provider, { apiBaseUrl: upstream.url })).id;
    for (const username of ['ann', 'ben']) {
      const r = await connectInBrowser(t, provider, integration, { username, session: { externalId: username } });
      assert.match(r.page.text, /Connected!/);
    }
    conn = (await t.api('GET', '/v1/connections?externalId=ann')).body.data[0].id;
    other = (await t.api('GET', '/v1/connections?externalId=ben')).body.data[0].id;
  });
  after(async () => {
    await t.close();
    await provider.close();
    await upstream.close();
  });

  const proxy = (key: string, id = conn) => fetch(`${t.kw.url}/v1/proxy/${id}/ping`, { headers: { authorization: `Bearer ${key}` } });

  test('a new key is shown once; the list shows its first characters, never the key or its hash', async () => {
    const created = await t.api('POST', '/v1/api-keys', { name: 'reporting app' });
    assert.equal(created.status, 201);
    const { key, id } = created.body;
    assert.match(key, /^kw_[A-Za-z0-9_-]{43}$/);
    assert.match(id, /^key_/);
    assert.equal(created.body.prefix, key.slice(0, 10));
    assert.deepEqual(created.body.scope, { integrations: [], connections: [], tokenRead: false, manage: false });

    const list = await t.api('GET', '/v1/api-keys');
    assert.equal(list.status, 200);
    assert.ok('nextCursor' in list.body);
    const listed = list.body.data.find((k: { id: string }) => k.id === id);
    assert.equal(listed.name, 'reporting app');
    assert.equal(listed.prefix, key.slice(0, 10));
    assert.equal(listed.revokedAt, null);
    const text = JSON.stringify(list.body);
    assert.ok(!text.includes(key));
    assert.ok(!/"hash"/.test(text));
    assert.ok(!/[0-9a-f]{64}/.test(text), 'no SHA-256 hex in the list');
    assert.equal((await t.api('GET', `/v1/api-keys/${id}`)).body.key, undefined);
    assert.ok(!t.logs.text().includes(key), 'the new key is not logged');
  });

  test('the list is paginated with limit and cursor', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await t.api('POST', '/v1/api-keys', { name: `page ${i}` })).status, 201);
    const seen = new Set<string>();
    let cursor: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const res = await t.api('GET', `/v1/api-keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.status, 200);
      assert.ok(res.body.data.length <= 2);
      for (const k of res.body.data) seen.add(k.id);
      cursor = res.body.nextCursor;
      if (cursor === null) break;
    }
    assert.equal(cursor, null);
    const all = await t.api('GET', '/v1/api-keys?limit=200');
    assert.equal(seen.size, all.body.data.length);
  });

  test('a key limited to the proxy may call through connections but not read raw tokens or manage', async () => {
    const { key } = (await t.api('POST', '/v1/api-keys', { name: 'assistant' })).body;
    assert.equal((await proxy(key)).status, 200);
    const token = await t.api('GET', `/v1/connections/${conn}/token`, undefined, key);
    assert.equal(token.status, 403);
    assert.equal(token.headers.get('keyway-error'), 'forbidden');
    assert.match(token.body.error.message, /proxy/);
    assert.equal((await t.api('POST', '/v1/api-keys', { name: 'escalation' }, key)).status, 403);
    assert.equal((await t.api('GET', '/v1/api-keys', undefined, key)).status, 403);
  });

  test('a key scoped to one connection cannot reach another, and cannot create a wider key', async () => {
    const created = await t.api('POST', '/v1/api-keys', { name: 'one connection', scope: { connections: [conn], tokenRead: true, manage: true } });
    assert.equal(created.status, 201);
    const { key } = created.body;
    assert.equal((await proxy(key, conn)).status, 200);
    const elsewhere = await proxy(key, other);
    assert.equal(elsewhere.status, 404);
    assert.equal(elsewhere.headers.get('keyway-error'), 'not_found');
    assert.equal((await t.api('GET', `/v1/connections/${other}/token`, undefined, key)).status, 404);
    const wider = await t.api('POST', '/v1/api-keys', { name: 'wider', scope: { connections: [conn, other] } }, key);
    assert.equal(wider.status, 403);
    assert.match(wider.body.error.message, /more access than its own/);
    assert.equal((await t.api('POST', '/v1/api-keys', { name: 'same', scope: { connections: [conn] } }, key)).status, 201);
  });

  test('a revoked key is refused at once, by the API and the proxy', async () => {
    const { key, id } = (await t.api('POST', '/v1/api-keys', { name: 'short-lived' })).body;
    assert.equal((await proxy(key)).status, 200);
    assert.equal((await t.api('DELETE', `/v1/api-keys/${id}`)).status, 204);
    const refused = await proxy(key);
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('keyway-error'), 'unauthorized');
    assert.equal((await t.api('GET', '/v1/providers', undefined, key)).status, 401);
    assert.notEqual((await t.api('GET', `/v1/api-keys/${id}`)).body.revokedAt, null);
    assert.equal((await t.api('DELETE', '/v1/api-keys/key_missing')).status, 404);
    const audit = await t.api('GET', '/v1/audit?action=api_key.revoke');
    assert.ok(audit.body.data.some((e: { detail: { key: string } }) => e.detail.key === id));
  });

  test('a key over its rate limit gets 429 with Retry-After and Keyway-Error, and is served again after the wait', async () => {
    const { key } = (await t.api('POST', '/v1/api-keys', { name: 'limited', rateLimitPerMinute: 3 })).body;
    for (let i = 0; i < 3; i++) assert.equal((await proxy(key)).status, 200);
    const before = upstream.seen.length;
    const limited = await proxy(key);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('keyway-error'), 'rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, String(retryAfter));
    assert.equal((await limited.json() as { error: { code: string } }).error.code, 'rate_limited');
    assert.equal((await t.api('GET', '/v1/providers', undefined, key)).status, 429, 'the limit covers the whole API');
    assert.equal(upstream.seen.length, before, 'a limited call is not forwarded');
    t.clock.advance(retryAfter * 1000);
    assert.equal((await proxy(key)).status, 200);
  });

  test('a /token read counts once against the rate limit, whether answered from memory or after reading the store', async () => {
    const { key } = (await t.api('POST', '/v1/api-keys', { name: 'token reader', scope: { tokenRead: true }, rateLimitPerMinute: 4 })).body;
    const read = () => t.api('GET', `/v1/connections/${conn}/token`, undefined, key);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await read()).status); // the first checks the key in the store, the rest from memory
    assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
    const limited = await read();
    assert.equal(limited.headers.get('keyway-error'), 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  });

  test('invalid key requests are refused naming the field', async () => {
    const res = await t.api('POST', '/v1/api-keys', { name: 'x', scope: { admin: true } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid_request');
    assert.equal((await t.api('POST', '/v1/api-keys', { name: '' })).status, 400);
    assert.equal((await t.api('POST', '/v1/api-keys', { name: 'x', rateLimitPerMinute: -1 })).status, 400);
  });
});

describe('API keys that expire', () => {
  let t: TestKeyway;
  let upstream: Upstream;
  let conn: string;
  const DAY = 24 * 60 * 60 * 1000;
  before(async () => {
    upstream = await startUpstream();
    t = await startTestKeyway({
      extraDefinitions: [parseDefinition({ id: 'expiry-local', name: 'Expiry API', grants: [], credential: 'api_key', api: { baseUrls: [upstream.url] } }, 'test')],
    });
    const integ = await t.api('POST', '/v1/integrations', { provider: 'expiry-local' });
    conn = (await t.api('POST', '/v1/connections', { integration: integ.body.id, type: 'api_key', apiKey: 'provider-key-1' })).body.id;
  });
  after(async () => {
    await t.close();
    await upstream.close();
  });
  const proxy = (key: string) => fetch(`${t.kw.url}/v1/proxy/${conn}/ping`, { headers: { authorization: `Bearer ${key}` } });

  test('a key with expiresAt works until that moment and is refused from it, by the API, the proxy and /token, saying it expired', async () => {
    const expiresAt = new Date(t.clock.now() + 60_000).toISOString();
    const created = await t.api('POST', '/v1/api-keys', { name: 'for a minute', scope: { tokenRead: true }, expiresAt });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.expiresAt, expiresAt);
    const { key, id } = created.body;
    assert.equal((await t.api('GET', `/v1/api-keys/${id}`)).body.expiresAt, expiresAt);
    // In use (and so in the server's memory) before it expires.
    assert.equal((await proxy(key)).status, 200);
    assert.equal((await t.api('GET', '/v1/providers', undefined, key)).status, 200);
    t.clock.advance(59_999);
    assert.equal((await proxy(key)).status, 200, 'still valid a millisecond before');
    t.clock.advance(1);
    const refused = await proxy(key);
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('keyway-error'), 'unauthorized');
    const message = (await refused.json() as { error: { message: string } }).error.message;
    assert.match(message, new RegExp(`expired at ${expiresAt.replace(/[.]/g, '\\.')}`));
    assert.match(message, /keys create/);
    assert.ok(!message.includes(key));
    assert.equal((await t.api('GET', '/v1/providers', undefined, key)).status, 401);
    assert.equal((await t.api('GET', `/v1/connections/${conn}/token`, undefined, key)).status, 401);
    const audit = await t.api('GET', '/v1/audit?action=api_key.create');
    assert.ok(audit.body.data.some((e: { detail: { key: string; expiresAt?: string } }) => e.detail.key === id && e.detail.expiresAt === expiresAt));
  });

  test('expiresInDays: the key expires that many days from now; a key without either never expires', async () => {
    const created = await t.api('POST', '/v1/api-keys', { name: 'quarterly', expiresInDays: 90 });
    assert.equal(created.status, 201);
    assert.equal(Date.parse(created.body.expiresAt), t.clock.now() + 90 * DAY);
    const plain = await t.api('POST', '/v1/api-keys', { name: 'no expiry' });
    assert.equal(plain.body.expiresAt, null);
    t.clock.advance(3650 * DAY);
    assert.equal((await proxy(plain.body.key)).status, 200, 'ten years on, a key without an expiry still works');
    assert.equal((await proxy(created.body.key)).status, 401);
  });

  test('an expiry in the past, both fields, a date that is not one, or a day count out of range: a 400 naming what to send', async () => {
    const past = await t.api('POST', '/v1/api-keys', { name: 'x', expiresAt: new Date(t.clock.now() - 1000).toISOString() });
    assert.equal(past.status, 400);
    assert.match(past.body.error.message, /expiresAt must be in the future/);
    const both = await t.api('POST', '/v1/api-keys', { name: 'x', expiresAt: new Date(t.clock.now() + DAY).toISOString(), expiresInDays: 1 });
    assert.equal(both.status, 400);
    assert.match(both.body.error.message, /either expiresAt or expiresInDays/);
    for (const body of [{ expiresAt: 'next tuesday' }, { expiresInDays: 0 }, { expiresInDays: 3651 }, { expiresInDays: 1.5 }]) {
      const res = await t.api('POST', '/v1/api-keys', { name: 'x', ...body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.code, 'invalid_request');
    }
    const names = (await t.api('GET', '/v1/api-keys')).body.data.map((k: { name: string }) => k.name);
    assert.ok(!names.includes('x'), 'no key was made');
  });
});

describe('API keys: the server-wide rate limit', () => {
  let t: TestKeyway;
  before(async () => { t = await startTestKeyway({ env: { KEYWAY_RATE_LIMIT_PER_MINUTE: '4' } }); });
  after(async () => { await t.close(); });

  test('KEYWAY_RATE_LIMIT_PER_MINUTE applies to keys without their own limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await t.api('GET', '/v1/providers')).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
  });
});

describe('API keys: the CLI and a running server', { timeout: 90_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyway-keys-'));
  let kw: SpawnedKeyway;
  before(async () => { kw = await spawnKeyway(dataDir); });
  after(async () => {
    await kw?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('`keys list` shows every key by id, name and first characters, never the key', async () => {
    const created = await run(process.execPath, [CLI, 'keys', 'create', '--name', 'cli listed', '--data-dir', dataDir]);
    const key = created.stdout.trim();
    const { stdout } = await run(process.execPath, [CLI, 'keys', 'list', '--data-dir', dataDir]);
    assert.match(stdout, /^ID\s+NAME\s+PREFIX\s+CREATED\s+LAST USED\s+EXPIRES\s+REVOKED\s+REPLACED BY/);
    assert.match(stdout, /cli listed/);
    assert.match(stdout, /bootstrap admin/);
    assert.ok(stdout.includes(`${key.slice(0, 10)}…`));
    assert.ok(!stdout.includes(key));
    assert.ok(!stdout.includes(readFileSync(join(dataDir, 'bootstrap-admin-key'), 'utf8').trim()));
  });

  test('`keys create --expires-in-days`: the key expires then, `keys list` shows when; a bad count is refused saying what to give', async () => {
    const created = await run(process.execPath, [CLI, 'keys', 'create', '--name', 'cli expiring', '--expires-in-days', '7', '--data-dir', dataDir]);
    const key = created.stdout.trim();
    const said = /It expires at (\S+)\./.exec(created.stderr);
    assert.ok(said, created.stderr);
    const until = Date.parse(said[1]!);
    assert.ok(Math.abs(until - (Date.now() + 7 * 24 * 60 * 60 * 1000)) < 60_000, said[1]);
    const listed = await kw.api('GET', '/v1/api-keys', undefined, key);
    assert.equal(listed.status, 200, 'the key works before it expires');
    assert.equal(listed.body.data.find((k: { name: string }) => k.name === 'cli expiring').expiresAt, new Date(until).toISOString());
    const { stdout } = await run(process.execPath, [CLI, 'keys', 'list', '--data-dir', dataDir]);
    const line = stdout.split('\n').find((l) => l.includes('cli expiring'));
    assert.ok(line?.includes(new Date(until).toISOString().slice(0, 19).replace('T', ' ')), line);
    for (const bad of ['0', 'week', '3651']) {
      await assert.rejects(run(process.execPath, [CLI, 'keys', 'create', '--name', 'bad', '--expires-in-days', bad, '--data-dir', dataDir]),
        (e: { stderr: string }) => /--expires-in-days must be a whole number of days from 1 to 3650/.test(e.stderr));
    }
  });

  test('`keys revoke` while the server runs: the server refuses the key within a second', async () => {
    const created = await kw.api('POST', '/v1/api-keys', { name: 'revoked from the CLI' });
    assert.equal(created.status, 201);
    const { key, id } = created.body;
    // The key is in use (and so in the server's cache) when the CLI revokes it.
    for (let i = 0; i < 3; i++) assert.equal((await kw.api('GET', '/v1/providers', undefined, key)).status, 200);
    const { stdout } = await run(process.execPath, [CLI, 'keys', 'revoke', id, '--data-dir', dataDir]);
    assert.match(stdout, new RegExp(`Revoked API key ${id}`));
    await sleep(1000);
    const res = await kw.api('GET', '/v1/providers', undefined, key);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('keyway-error'), 'unauthorized');
    const again = await run(process.execPath, [CLI, 'keys', 'revoke', id, '--data-dir', dataDir]);
    assert.match(again.stdout, /already revoked/);
    await assert.rejects(run(process.execPath, [CLI, 'keys', 'revoke', 'key_nope', '--data-dir', dataDir]), (e: { stderr: string }) => /No API key key_nope/.test(e.stderr));
  });
});
