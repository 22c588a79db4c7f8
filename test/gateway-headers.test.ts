/** The gateway sends the fixed headers a provider's API requires (Notion-Version…) unless the caller sends its own. */
import assert from 'node:assert/strict';
import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { parseDefinition } from '../src/catalog/index.ts';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';

let t: TestKeyway;
const seen: IncomingHttpHeaders[] = [];
const api = createServer((req, res) => {
  seen.push(req.headers);
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
});

before(async () => {
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(api.address() as AddressInfo).port}/v1`;
  t = await startTestKeyway({
    extraDefinitions: [parseDefinition({
      id: 'versioned-local', name: 'Versioned API', grants: [], credential: 'api_key',
      api: { baseUrls: [base], headers: { 'Notion-Version': '2022-06-28' } },
    }, 'test')],
  });
});
after(async () => {
  await t.close();
  await new Promise<void>((r) => api.close(() => r()));
});

test('a definition\u2019s fixed API headers go with every proxied call; a caller\u2019s own value wins', async () => {
  const integ = await t.api('POST', '/v1/integrations', { provider: 'versioned-local' });
  assert.equal(integ.status, 201, JSON.stringify(integ.body));
  const conn = await t.api('POST', '/v1/connections', { integration: integ.body.id, type: 'api_key', apiKey: 'versioned-key-1' });
  assert.equal(conn.status, 201, JSON.stringify(conn.body));
  const plain = await fetch(`${t.kw.url}/v1/proxy/${conn.body.id}/pages`, { headers: { authorization: `Bearer ${t.apiKey}` } });
  assert.equal(plain.status, 200);
  assert.equal(seen.at(-1)?.['notion-version'], '2022-06-28');
  assert.equal(seen.at(-1)?.authorization, 'Bearer versioned-key-1');
  const own = await fetch(`${t.kw.url}/v1/proxy/${conn.body.id}/pages`, { headers: { authorization: `Bearer ${t.apiKey}`, 'notion-version': '2025-09-03' } });
  assert.equal(own.status, 200);
  assert.equal(seen.at(-1)?.['notion-version'], '2025-09-03', 'the caller chose another API version');
});
