/**
 * The SDK's gateway calls against a real Keyway and a small provider API on 127.0.0.1 (an API-key
 * connection): what comes back untouched, what is refused before anything is sent, redirects, and a
 * `fetch` for a provider's own SDK.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Keyway, KeywayApiError } from 'keyway/sdk';
import { parseDefinition } from '../src/catalog/index.ts';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { type Upstream, echo, startUpstream } from './helpers/upstream.ts';

const STORED_KEY = 'provider-secret-7d1e0b';

describe('SDK gateway: a local provider API behind an API-key connection', () => {
  let t: TestKeyway;
  let upstream: Upstream;
  let other: Upstream; // another origin, where the provider redirects
  let conn: string;
  let keyway: Keyway;
  /** Every request the SDK sent, by URL: to prove a refused call sent nothing. */
  const sent: string[] = [];

  before(async () => {
    upstream = await startUpstream();
    other = await startUpstream();
    t = await startTestKeyway({
      extraDefinitions: [parseDefinition({
        id: 'two-bases', name: 'Two bases', grants: [], credential: 'api_key',
        api: { baseUrls: [`${upstream.url}/api`, `${upstream.url}/uploads`] },
      }, 'test')],
    });
    const integ = await t.api('POST', '/v1/integrations', { provider: 'two-bases' });
    assert.equal(integ.status, 201, JSON.stringify(integ.body));
    keyway = new Keyway({
      url: `${t.kw.url}/`, apiKey: t.apiKey,
      fetch: (input, init) => {
        sent.push(input instanceof Request ? input.url : String(input));
        return fetch(input, init);
      },
    });
    conn = (await keyway.connections.create({ integration: integ.body.id, type: 'api_key', apiKey: STORED_KEY })).id;
  });
  after(async () => {
    await t.close();
    await upstream.close();
    await other.close();
  });

  test('the path is sent as given, %2F untouched, with the query; the provider gets its credential and never the Keyway key', async () => {
    upstream.handle(echo);
    const res = await keyway.proxy(conn, 'projects/group%2Fsub/files?ref=main', { query: { page: 2 }, headers: { 'x-app': 'one' } });
    assert.equal(res.status, 200);
    const seen = upstream.seen.at(-1);
    assert.equal(seen?.url, '/api/projects/group%2Fsub/files?ref=main&page=2');
    assert.equal(seen?.headers['x-app'], 'one');
    assert.ok(JSON.stringify(seen?.headers).includes(STORED_KEY));
    assert.ok(!JSON.stringify(seen?.headers).includes(t.apiKey));
  });

  test('baseUrl picks another of the provider\'s declared API bases', async () => {
    upstream.handle(echo);
    assert.equal((await keyway.proxy(conn, 'file.bin', { baseUrl: `${upstream.url}/uploads` })).status, 200);
    assert.equal(upstream.seen.at(-1)?.url, '/uploads/file.bin');
    const wrong = await keyway.proxy(conn, 'file.bin', { baseUrl: 'https://elsewhere.example/api' }).catch((e: unknown) => e);
    assert.ok(wrong instanceof KeywayApiError);
    assert.equal(wrong.code, 'invalid_request');
    assert.match(wrong.message, /Keyway-Base-Url must be one of/);
  });

  test('a URL, dot segments or a backslash in the path are refused before anything is sent', async () => {
    const before = sent.length;
    for (const path of ['https://evil.example/steal', '//evil.example/x', '../api-keys', 'a/%2e%2E/b', './x', 'a\\..\\b']) {
      await assert.rejects(keyway.proxy(conn, path), TypeError, path);
    }
    await assert.rejects(keyway.proxy(conn, 'a/../../../v1/api-keys'), /must not hold "\." or "\.\." segments/);
    assert.equal(sent.length, before);
  });

  test('a provider\'s own Keyway-Error header does not pass for Keyway\'s: the answer is the provider\'s', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(418, { 'content-type': 'text/plain', 'keyway-error': 'unauthorized', 'keyway-hint': 'send your key to evil.example' });
      res.end('short and stout');
    });
    const res = await keyway.proxy(conn, 'teapot');
    assert.equal(res.status, 418);
    assert.equal(res.headers.get('keyway-error'), null);
    assert.equal(res.headers.get('keyway-hint'), null);
    assert.equal(await res.text(), 'short and stout');
  });

  test('redirects: returned as they are with redirect "manual"; followed by default, without the Keyway key at the other origin', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(302, { location: `${other.url}/cdn/file.zip` });
      res.end();
    });
    other.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/zip' });
      res.end('PK');
    });
    const manual = await keyway.proxy(conn, 'download', { redirect: 'manual' });
    assert.equal(manual.status, 302);
    assert.equal(manual.headers.get('location'), `${other.url}/cdn/file.zip`);
    assert.equal(other.seen.length, 0);
    const followed = await keyway.proxy(conn, 'download');
    assert.equal(followed.status, 200);
    assert.equal(await followed.text(), 'PK');
    assert.equal(other.seen.length, 1);
    assert.equal(other.seen[0]?.headers.authorization, undefined);
    assert.ok(!JSON.stringify(other.seen[0]?.rawHeaders).includes(t.apiKey));
    assert.ok(!JSON.stringify(other.seen[0]?.rawHeaders).includes(STORED_KEY));
  });

  test('gateway.fetch() serves a provider\'s own SDK given gateway.url(connection) as its base, and calls nothing else', async () => {
    upstream.handle(echo);
    const providerFetch = keyway.gateway.fetch();
    const base = keyway.gateway.url(conn);
    assert.equal(base, `${t.kw.url}/v1/proxy/${conn}/`);
    const res = await providerFetch(new URL('repos/o/r?per_page=5', base), { method: 'PUT', body: 'x', headers: { authorization: 'token from-the-provider-sdk' } });
    assert.equal(res.status, 200);
    const seen = upstream.seen.at(-1);
    assert.equal(seen?.method, 'PUT');
    assert.equal(seen?.url, '/api/repos/o/r?per_page=5');
    assert.ok(!JSON.stringify(seen?.headers).includes('from-the-provider-sdk'));
    const before = sent.length;
    await assert.rejects(providerFetch('https://api.github.com/user'), /calls only Keyway's gateway/);
    await assert.rejects(providerFetch(`${t.kw.url}/v1/api-keys`), /calls only Keyway's gateway/);
    assert.equal(sent.length, before);
    const gone = await providerFetch(`${t.kw.url}/v1/proxy/conn_missing/x`).catch((e: unknown) => e);
    assert.ok(gone instanceof KeywayApiError);
    assert.equal(gone.code, 'not_found');
  });

  test('bad options say what to give', () => {
    assert.throws(() => new Keyway({ url: 'localhost:3030', apiKey: t.apiKey }), /url must be http or https/);
    assert.throws(() => new Keyway({ url: 'not a url', apiKey: t.apiKey }), /url must be Keyway's address/);
    assert.throws(() => new Keyway({ url: 'http://user:pw@127.0.0.1:3030', apiKey: t.apiKey }), /must not carry a user name or password/);
    assert.throws(() => new Keyway({ url: t.kw.url, apiKey: '' }), /apiKey must be an API key/);
    assert.throws(() => new Keyway({ url: t.kw.url, apiKey: `Bearer ${t.apiKey}` }), /without spaces/);
  });

  test('an empty id is refused before anything is sent', async () => {
    const before = sent.length;
    await assert.rejects(keyway.connections.get(''), /an id must be a non-empty string/);
    await assert.rejects(keyway.proxy('', 'me'), /an id must be a non-empty string/);
    assert.equal(sent.length, before);
  });
});
