import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withNormalizer } from './normalize.ts';

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

test('without a hook the fetch is used as it is', () => {
  const f = answering(new Response('{}'));
  assert.equal(withNormalizer(f, {}), f);
});
