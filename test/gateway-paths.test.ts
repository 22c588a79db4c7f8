/**
 * The gateway's path and query as a caller sends them by hand (raw bytes, nothing normalised on the
 * way): what is refused, what reaches the provider exactly as sent, and what the audit log keeps.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDefinition } from '../src/catalog/index.ts';
import { newId } from '../src/core/ids.ts';
import { cryptoRandom } from '../src/core/random.ts';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { type RawResponse, type Upstream, echo, rawRequest, startUpstream } from './helpers/upstream.ts';

const KEY = 'paths-key-4c7e1a9b3d5f';

describe('gateway paths and queries sent as raw bytes', () => {
  let t: TestKeyway;
  let upstream: Upstream;
  /** Connection ids by definition id. */
  const conns: Record<string, string> = {};

  before(async () => {
    upstream = await startUpstream();
    const local = (id: string, api: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      parseDefinition({ id, name: id, grants: [], credential: 'api_key', api, ...extra }, 'test');
    t = await startTestKeyway({
      env: { KEYWAY_AUDIT_GROUP_MS: '0' },
      extraDefinitions: [
        local('paths-root', { baseUrls: [`${upstream.url}/`], inject: { in: 'header', name: 'X-Api-Key', prefix: '' } }),
        local('paths-query', { baseUrls: [`${upstream.url}/api`], inject: { in: 'query', name: 'api_key' } }),
        local('paths-tmpl', { baseUrls: [`${upstream.url}/t/{sub}/x`] }, { connectionParams: { sub: { label: 'sub-account', pattern: '.*', example: 'acme' } } }),
      ],
    });
    for (const id of ['paths-root', 'paths-query']) {
      const integration = await t.api('POST', '/v1/integrations', { provider: id });
      assert.equal(integration.status, 201, JSON.stringify(integration.body));
      const conn = await t.api('POST', '/v1/connections', { integration: integration.body.id, type: 'api_key', apiKey: KEY });
      assert.equal(conn.status, 201, JSON.stringify(conn.body));
      conns[id] = conn.body.id;
    }
  });
  after(async () => {
    await t.close();
    await upstream.close();
  });

  const call = (conn: string, target: string): Promise<RawResponse> =>
    rawRequest(t.kw.url, `/v1/proxy/${conn}${target}`, { headers: { authorization: `Bearer ${t.apiKey}` } });
  const refusal = (res: RawResponse, target: string): string => {
    assert.equal(res.status, 400, target);
    assert.equal(res.headers['keyway-error'], 'invalid_request', target);
    return (JSON.parse(res.body.toString()) as { error: { message: string } }).error.message;
  };

  test('a host, a scheme or credentials that dot segments would bring to the start of the path are refused, and nothing is sent', async () => {
    upstream.handle(echo);
    const before = upstream.seen.length;
    for (const path of ['/a/..//evil.example/x', '/.//evil.example/x', '/%2e//evil.example', '/a/../http://evil.example', '/./user:pw@evil.example',
      '/a/../javascript:alert(1)', '/a/..%2F%2Fevil.example', '/a/../http:%2F%2Fevil.example']) {
      assert.match(refusal(await call(conns['paths-root']!, path), path), /Refused to forward this path: once its dot segments are removed, it/, path);
    }
    assert.equal(upstream.seen.length, before, 'no request reached the provider');
  });

  test('paths that only look unusual reach the provider exactly as written', async () => {
    upstream.handle(echo);
    for (const path of ['/%252e%252e/x', '/a;v=1/b;w=2', '/a//b', '/projects/group%2Fproject', '/caf%C3%A9', '/x@evil.example',
      '/seg/http://evil.example', '/a/../seg/http://evil.example', '/v1/file.tar.gz', '/.well-known/x']) {
      const res = await call(conns['paths-root']!, path);
      assert.equal(res.status, 200, path);
      assert.equal(upstream.seen.at(-1)?.url, path, path);
      assert.equal(upstream.seen.at(-1)?.headers['x-api-key'], KEY, path);
    }
  });

  test('the audit log and the debug log mask a refused path\'s "user:password@" and keep no bare query value', async () => {
    upstream.handle(echo);
    const conn = conns['paths-root']!;
    refusal(await call(conn, '/:hunter2pw@evil.example/x'), 'userinfo');
    assert.equal((await call(conn, '/items?sk_live_BAREVALUE123&page=2')).status, 200);
    assert.equal((await call(conn, '/users/me@example.com')).status, 200);
    const entries = (await t.api('GET', '/v1/audit?action=proxy.call&limit=20')).body.data as { connection: string | null; detail: Record<string, unknown> }[];
    const refused = entries.find((e) => e.detail['requestedConnection'] === conn);
    assert.deepEqual({ path: refused?.detail['path'], code: refused?.detail['code'] }, { path: '/[userinfo]@evil.example/x', code: 'invalid_request' });
    assert.deepEqual(entries.find((e) => e.detail['path'] === '/items')?.detail['query'], ['[value]', 'page']);
    assert.ok(entries.some((e) => e.connection === conn && e.detail['path'] === '/users/me@example.com'), 'an e-mail address in a path is kept');
    const logged = t.logs.lines.filter((l) => l.includes('"proxy call"')).join('');
    assert.match(logged, /\[userinfo\]@evil\.example/);
    for (const secret of ['hunter2pw', 'sk_live_BAREVALUE123']) {
      assert.ok(!JSON.stringify(entries).includes(secret), `audit: ${secret}`);
      assert.ok(!logged.includes(secret), `log: ${secret}`);
    }
  });

  test('a raw "#" is refused with a 400 saying to send it as %23, so a key added to the query never lands in a fragment', async () => {
    upstream.handle(echo);
    const before = upstream.seen.length;
    for (const target of ['/things?a=1#frag', '/things#frag', '/things#frag?a=1']) {
      assert.match(refusal(await call(conns['paths-query']!, target), target), /raw "#".*percent-encode it as %23/, target);
      assert.match(refusal(await call(conns['paths-root']!, target), target), /percent-encode it as %23/, `${target}, key in a header`);
    }
    assert.equal(upstream.seen.length, before, 'nothing reached the provider');
    assert.equal((await call(conns['paths-query']!, '/things?a=%23frag')).status, 200);
    assert.equal(upstream.seen.at(-1)?.url, `/api/things?a=%23frag&api_key=${KEY}`);
  });

  test('a connection value of only dots for a path placeholder is refused when connecting, and a stored one is refused with what to do', async () => {
    upstream.handle(echo);
    const integration = (await t.api('POST', '/v1/integrations', { provider: 'paths-tmpl' })).body.id as string;
    const connect = (sub: string) => t.api('POST', '/v1/connections', { integration, type: 'api_key', apiKey: KEY, params: { sub } });
    for (const sub of ['..', '.', '%2e%2e']) {
      const res = await connect(sub);
      assert.equal(res.status, 400, sub);
      assert.equal(res.headers.get('keyway-error'), 'invalid_request');
      assert.match(res.body.error.message, /"params\.sub" cannot be only dots.*Give a valid sub-account \(e\.g\. "acme"\)/, sub);
    }
    const good = (await connect('a.b')).body.id as string;
    assert.equal((await call(good, '/leaf')).status, 200);
    assert.equal(upstream.seen.at(-1)?.url, '/t/a.b/x/leaf');

    // A row stored before connection values were checked for dots.
    const { store, vault } = t.kw.services;
    const row = (await store.connections.get(t.kw.orgId, good))!;
    const id = newId('connection', cryptoRandom);
    await store.connections.insert({ ...row, id, params: { sub: '..' }, accessTokenEnc: await vault.encrypt({ orgId: row.orgId, recordId: id, field: 'access_token' }, KEY) });
    const before = upstream.seen.length;
    const message = refusal(await call(id, '/leaf'), 'stored ..');
    assert.match(message, /This connection's "params\.sub" is only dots \(".."\).*Reconnect it with a valid "params\.sub"/);
    assert.equal(upstream.seen.length, before, 'nothing reached the provider (it went to /x/leaf before)');
  });
});
