import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tolerateTokenResponse, withNormalizer } from './normalize.ts';

const answering = (res: Response): typeof fetch => (async () => res) as typeof fetch;
const errorsAre400 = {
  normalizeTokenResponse: ({ body }: { status: number; body: unknown }) => ({ status: 400, body: { ...(body as object), seen: true } }),
};

test('a JSON token response is rewritten by the provider hook, status and body', async () => {
  const upstream = new Response(JSON.stringify({ error: 'x' }), { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': '13', 'x-request-id': 'r1' } });
  const res = await withNormalizer(answering(upstream), errorsAre400)('https://p.example/token');
  assert.ok(res instanceof Response);
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { error: 'x', seen: true });
  assert.equal(res.headers.get('x-request-id'), 'r1');
  assert.equal(res.headers.get('content-length'), null);
});

test('a response that is not JSON passes through untouched', async () => {
  const upstream = new Response('<html></html>', { status: 200, headers: { 'content-type': 'text/html' } });
  const res = await withNormalizer(answering(upstream), errorsAre400)('https://p.example/token');
  assert.equal(res, upstream);
});

test('without a hook, a token response still gets the cosmetic fixes every provider gets', async () => {
  const upstream = new Response(JSON.stringify({ access_token: 'a', scope: ['x', 'y'], refresh_token: null }), { status: 200, headers: { 'content-type': 'application/json' } });
  const res = await withNormalizer(answering(upstream), {})('https://p.example/token');
  assert.deepEqual(await res.json(), { access_token: 'a', token_type: 'bearer', scope: 'x y' });
});

test('an answer without an access token is left for oauth4webapi to refuse', () => {
  const body = { token_type: 'bearer', refresh_token: '' };
  assert.equal(tolerateTokenResponse({ status: 200, body }).body, body);
  const error = { error: 'invalid_grant' };
  assert.equal(tolerateTokenResponse({ status: 400, body: error }).body, error);
});
