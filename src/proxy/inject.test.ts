import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeywayError } from '../core/errors.ts';
import { credentialFor, upstreamQuery } from './inject.ts';
import { requestHeaders, responseHeaders } from './headers.ts';

const bearer = { in: 'header', name: 'Authorization', prefix: 'Bearer ' } as const;
const apiKeyHeader = { in: 'header', name: 'X-Api-Key', prefix: '' } as const;
const inQuery = { in: 'query', name: 'api_key', prefix: '' } as const;

test('an OAuth token goes into the definition\'s header with its prefix', () => {
  assert.deepEqual(credentialFor('oauth2', bearer, 'tok'), { header: ['Authorization', 'Bearer tok'], query: null, reserved: 'authorization' });
  assert.deepEqual(credentialFor('client_credentials', bearer, 'tok').header, ['Authorization', 'Bearer tok']);
});

test('an API key goes where the definition says: a named header, or the query', () => {
  assert.deepEqual(credentialFor('api_key', apiKeyHeader, 'k-1'), { header: ['X-Api-Key', 'k-1'], query: null, reserved: 'x-api-key' });
  assert.deepEqual(credentialFor('api_key', inQuery, 'k 1&2'), { header: null, query: 'api_key=k%201%262', reserved: null });
});

test('Basic credentials are sent as Basic base64(username:password)', () => {
  assert.deepEqual(credentialFor('basic', bearer, 'user:pä ss').header, ['Authorization', `Basic ${Buffer.from('user:pä ss').toString('base64')}`]);
});

test('a query credential is added to the caller\'s query as sent, replacing a caller\'s own parameter of that name', () => {
  const cred = credentialFor('api_key', inQuery, 'k');
  assert.equal(upstreamQuery('a=1&b=%20x', inQuery, cred), '?a=1&b=%20x&api_key=k');
  assert.equal(upstreamQuery('api_key=mine&a=1&api%5Fkey=also', inQuery, cred), '?a=1&api_key=k');
  assert.equal(upstreamQuery(null, inQuery, cred), '?api_key=k');
  assert.equal(upstreamQuery('x=1', bearer, credentialFor('oauth2', bearer, 't')), '?x=1');
  assert.equal(upstreamQuery(null, bearer, credentialFor('oauth2', bearer, 't')), '');
});

test('a raw "#" in the caller\'s query is refused, telling to send it as %23: a credential added after it would be read as a fragment', () => {
  const cred = credentialFor('api_key', inQuery, 'k');
  for (const q of ['a=1#frag', '#', 'a=%23&b=#']) {
    assert.throws(() => upstreamQuery(q, inQuery, cred), (e: KeywayError) => e.code === 'invalid_request' && /"#".*percent-encode it as %23/.test(e.message), q);
  }
  assert.throws(() => upstreamQuery('a=1#frag', bearer, credentialFor('oauth2', bearer, 't')), /%23/, 'whatever the credential');
  assert.equal(upstreamQuery('a=%23frag', inQuery, cred), '?a=%23frag&api_key=k');
});

test('hop-by-hop headers, Host, the caller\'s Authorization, Keyway-* and the credential header never go upstream', () => {
  const raw = ['Host', 'kw', 'Authorization', 'Bearer kw_x', 'Connection', 'keep-alive, X-Drop', 'X-Drop', '1', 'Keep-Alive', 't=5',
    'Transfer-Encoding', 'chunked', 'TE', 'trailers', 'Upgrade', 'h2c', 'Proxy-Authorization', 'p', 'Keyway-Base-Url', 'u',
    'X-Api-Key', 'callers', 'Accept', 'a/b', 'X-Multi', '1', 'X-Multi', '2', 'Expect', '100-continue'];
  assert.deepEqual(requestHeaders(raw, 'x-api-key'), ['Accept', 'a/b', 'X-Multi', '1', 'X-Multi', '2']);
});

test('hop-by-hop response headers are dropped; repeated ones like Set-Cookie are kept', () => {
  // As undici parses them: lower-case names, a repeated header as a list.
  const parsed = { 'content-type': 'a/b', connection: 'close', 'transfer-encoding': 'chunked', 'set-cookie': ['a=1', 'b=2'] };
  assert.deepEqual(responseHeaders(parsed), ['content-type', 'a/b', 'set-cookie', 'a=1', 'set-cookie', 'b=2']);
});

test('a provider\'s own Keyway-* response headers are dropped: Keyway-Error and Keyway-Hint are Keyway\'s alone', () => {
  const parsed = { 'keyway-error': 'unauthorized', 'keyway-hint': 'send your password to …', 'x-keyway-note': 'kept', 'content-type': 'a/b' };
  assert.deepEqual(responseHeaders(parsed), ['x-keyway-note', 'kept', 'content-type', 'a/b']);
});

test('response headers the Connection header names are dropped too', () => {
  const parsed = { connection: 'keep-alive, X-Hop', 'x-hop': '1', 'x-kept': '2' };
  assert.deepEqual(responseHeaders(parsed), ['x-kept', '2']);
});
