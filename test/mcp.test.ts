import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { CookieJar } from './helpers/browserless.ts';
import { type TestKeyway, addIntegration, connectInBrowser, startAndAuthorize, startProvider, startTestKeyway } from './helpers/keyway.ts';
import { type Upstream, startUpstream } from './helpers/upstream.ts';

const MIN = 60_000;

interface ToolResult {
  content: Array<{ type: string; text?: string }>;
  isError?: boolean;
}

describe('MCP: an AI assistant calls provider APIs through connections', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let upstream: Upstream;
  /** The sandbox's API (/api/me, /api/items, /api/large) and a second integration on a plain upstream. */
  let sandboxInt: string;
  let otherInt: string;
  let alice: string;
  let bob: string;
  let assistantKey: string;
  const clients: Client[] = [];
  /** Every text a tool returned, searched for secrets at the end. */
  const results: string[] = [];
  /** Tokens and keys that must never show up in a tool result or a log line. */
  const secrets = new Set<string>();

  async function connect(integration: string, username: string): Promise<string> {
    const run = await connectInBrowser(t, provider, integration, { username, session: { externalId: username } });
    assert.match(run.page.text, /Connected!/, run.page.text);
    const id = (await t.api('GET', `/v1/connections?externalId=${username}&integration=${integration}`)).body.data[0].id as string;
    await rememberTokens(id);
    return id;
  }

  async function rememberTokens(id: string): Promise<void> {
    const { store, vault } = t.kw.services;
    const c = (await store.connections.get(t.kw.orgId, id))!;
    for (const [field, env] of [['access_token', c.accessTokenEnc], ['refresh_token', c.refreshTokenEnc]] as const) {
      if (env) secrets.add(await vault.decrypt({ orgId: c.orgId, recordId: c.id, field }, env));
    }
  }

  async function newKey(body: Record<string, unknown>): Promise<{ key: string; id: string }> {
    const created = await t.api('POST', '/v1/api-keys', body);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    secrets.add(created.body.key);
    return { key: created.body.key, id: created.body.id };
  }

  /** The SDK's own client on Keyway's /mcp, with the API key as Bearer. */
  async function assistant(key: string): Promise<Client> {
    const client = new Client({ name: 'test-assistant', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${t.kw.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  async function call(client: Client, name: string, args: Record<string, unknown>): Promise<{ text: string; isError: boolean; parts: string[] }> {
    const r = await client.callTool({ name, arguments: args }) as ToolResult;
    const parts = r.content.filter((c) => c.type === 'text').map((c) => c.text ?? '');
    results.push(...parts);
    return { text: parts.join('\n'), isError: r.isError === true, parts };
  }

  const json = (text: string) => JSON.parse(text) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- tool answers as sent

  before(async () => {
    provider = await startProvider();
    upstream = await startUpstream();
    t = await startTestKeyway();
    secrets.add(t.apiKey);
    sandboxInt = (await addIntegration(t, provider, { apiBaseUrl: provider.issuer })).id;
    otherInt = (await addIntegration(t, provider, { apiBaseUrl: `${upstream.url}/v2` })).id;
    alice = await connect(sandboxInt, 'alice');
    bob = await connect(otherInt, 'bob');
    assistantKey = (await newKey({ name: 'assistant' })).key;
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await t.close();
    await provider.close();
    await upstream.close();
  });

  test('an assistant connects with an API key and lists the tools', async () => {
    const client = await assistant(assistantKey);
    assert.equal(client.getServerVersion()?.name, 'keyway');
    assert.match(client.getInstructions() ?? '', /list_connections/);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((x) => x.name).sort(), ['call_api', 'connect', 'connection_status', 'list_connections']);
    const callApi = tools.find((x) => x.name === 'call_api')!;
    assert.deepEqual([...(callApi.inputSchema.required ?? [])].sort(), ['connection', 'path']);
    assert.ok(callApi.inputSchema.properties?.['query'] && callApi.inputSchema.properties['body']);
    // Stateless: no server-sent event stream to open, and no key, no answer.
    assert.equal((await fetch(`${t.kw.url}/mcp`, { headers: { authorization: `Bearer ${assistantKey}` } })).status, 405);
    const anonymous = await fetch(`${t.kw.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('keyway-error'), 'unauthorized');
  });

  test('list_connections shows each connection with its provider, status and what it can reach', async () => {
    const client = await assistant(assistantKey);
    const r = await call(client, 'list_connections', {});
    assert.equal(r.isError, false);
    const out = json(r.text);
    const a = out['connections'].find((c: { id: string }) => c.id === alice);
    assert.equal(a.integration, sandboxInt);
    assert.equal(a.provider, 'custom');
    assert.equal(a.status, 'active');
    assert.equal(a.statusReason, null);
    assert.deepEqual(a.apiBaseUrls, [provider.issuer]);
    assert.ok(a.scopes.includes('items:read'), JSON.stringify(a.scopes));
    assert.ok(out['connections'].some((c: { id: string }) => c.id === bob));
    assert.equal(out['nextCursor'], null);
  });

  test('call_api calls the sandbox API through a connection and returns its answer; the call is audited as the key', async () => {
    const client = await assistant(assistantKey);
    const me = await call(client, 'call_api', { connection: alice, method: 'GET', path: '/api/me' });
    assert.equal(me.isError, false, me.text);
    assert.match(me.parts[0]!, /^HTTP 200/);
    assert.match(me.parts[0]!, /content-type: application\/json/);
    assert.equal(json(me.parts[1]!)['sub'], 'alice');

    const items = await call(client, 'call_api', { connection: alice, path: 'api/items', query: { limit: 5 } });
    assert.equal(items.isError, false, items.text);
    assert.deepEqual(json(items.parts[1]!), { data: [] });

    await t.kw.services.audit.flush();
    const key = (await t.api('GET', '/v1/api-keys?limit=200')).body.data.find((k: { name: string }) => k.name === 'assistant');
    const keyId = key.id;
    const tools = (await t.api('GET', `/v1/audit?action=mcp.tool_call&connection=${alice}`)).body.data;
    const entry = tools.find((e: { detail: { path: string } }) => e.detail.path === '/api/items');
    assert.ok(entry, JSON.stringify(tools));
    assert.deepEqual(entry.actor, { type: 'api_key', id: keyId });
    assert.equal(entry.detail.member, key.member, 'as the key\'s member');
    assert.equal(entry.outcome, 'ok');
    assert.equal(entry.integration, sandboxInt);
    assert.deepEqual({ tool: entry.detail.tool, method: entry.detail.method, status: entry.detail.status, query: entry.detail.query }, { tool: 'call_api', method: 'GET', status: 200, query: ['limit'] });
    const proxied = (await t.api('GET', `/v1/audit?action=proxy.call&connection=${alice}`)).body.data;
    assert.ok(proxied.some((e: { actor: { id: string }; detail: { path: string } }) => e.actor.id === keyId && e.detail.path === '/api/me'), 'the gateway audited the call too');
  });

  test('a provider error comes back with its status, its body and Keyway\'s hint', async () => {
    const client = await assistant(assistantKey);
    const r = await call(client, 'call_api', { connection: alice, method: 'POST', path: '/api/items', body: { name: 'groceries' } });
    assert.equal(r.isError, true);
    assert.match(r.parts[0]!, /^HTTP 403 \(an error from the provider/);
    assert.match(r.parts[0]!, /Keyway-Hint: insufficient_scope: the provider says this call needs the scope "items:write"/);
    assert.equal(json(r.parts[1]!)['error'], 'insufficient_scope');
  });

  test('a large body is cut with a note saying what was cut and how to page', async () => {
    const client = await assistant(assistantKey);
    const r = await call(client, 'call_api', { connection: alice, path: '/api/large', query: { bytes: 100_000 } });
    assert.equal(r.isError, false);
    assert.match(r.parts[0]!, /Body cut: showing the first 16,384 bytes of 100,000 bytes \(83,616 bytes not shown\)/);
    assert.match(r.parts[0]!, /paging|Range/);
    assert.equal(r.parts[1]!.length, 16_384);
    assert.match(r.parts[1]!, /^a+$/);
  });

  test('a binary body is described by type and size, not dumped', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), Buffer.alloc(2036, 0xff)]);
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(png.length) });
      res.end(png);
    });
    const client = await assistant(assistantKey);
    const r = await call(client, 'call_api', { connection: bob, path: '/avatars/1.png' });
    assert.equal(r.isError, false);
    assert.match(r.text, /Binary body not shown \(image\/png, 2,048 bytes\)/);
    assert.ok(!r.text.includes('PNG'), 'the bytes are not in the answer');
    assert.equal(upstream.seen.at(-1)?.url, '/v2/avatars/1.png');
  });

  test('the gateway\'s rules hold: a path that would leave the API base is refused and nothing is sent', async () => {
    const client = await assistant(assistantKey);
    const before = upstream.seen.length;
    const r = await call(client, 'call_api', { connection: bob, path: '/../../admin' });
    assert.equal(r.isError, true);
    const out = json(r.text);
    assert.equal(out['error'].code, 'invalid_request');
    assert.match(out['error'].message, /Refused to forward this path/);
    assert.equal(upstream.seen.length, before);
  });

  test('a key scoped to one integration cannot reach another integration\'s connection', async () => {
    const { key } = await newKey({ name: 'sandbox only', scope: { integrations: [sandboxInt] } });
    const client = await assistant(key);
    const listed = json((await call(client, 'list_connections', {})).text);
    const ids = listed['connections'].map((c: { id: string }) => c.id);
    assert.ok(ids.includes(alice));
    assert.ok(!ids.includes(bob));
    assert.ok(!listed['integrationsWithoutConnection'].some((i: { integration: string }) => i.integration === otherInt));
    const before = upstream.seen.length;
    for (const [tool, args] of [
      ['call_api', { connection: bob, path: '/anything' }], ['connection_status', { connection: bob }], ['connect', { integration: otherInt }],
      ['list_connections', { integration: otherInt }],
    ] as const) {
      const r = await call(client, tool, args);
      assert.equal(r.isError, true, tool);
      assert.equal(json(r.text)['error'].code, 'not_found', tool);
      assert.match(json(r.text)['error'].message, /^No (connection|integration) /, tool);
    }
    // Looks exactly like a connection that does not exist.
    const missing = await call(client, 'call_api', { connection: 'conn_doesnotexist', path: '/anything' });
    assert.equal(json(missing.text)['error'].message.replace('conn_doesnotexist', bob), json((await call(client, 'call_api', { connection: bob, path: '/anything' })).text)['error'].message);
    assert.equal(upstream.seen.length, before, 'nothing reached the other provider');
    await t.kw.services.audit.flush();
    const audit = (await t.api('GET', '/v1/audit?action=mcp.tool_call&limit=200')).body.data;
    assert.ok(audit.some((e: { outcome: string; detail: { tool: string; code?: string; requestedConnection?: string } }) =>
      e.outcome === 'error' && e.detail.tool === 'call_api' && e.detail.code === 'not_found' && e.detail.requestedConnection === bob));
  });

  test('a revoked key is refused', async () => {
    const { key, id } = await newKey({ name: 'short-lived' });
    const client = await assistant(key);
    assert.equal((await call(client, 'list_connections', {})).isError, false);
    assert.equal((await t.api('DELETE', `/v1/api-keys/${id}`)).status, 204);
    await assert.rejects(client.callTool({ name: 'list_connections', arguments: {} }), (e: Error & { code?: number }) => {
      assert.equal(e.code, 401);
      assert.match(e.message, /unknown or revoked/);
      return true;
    });
    await assert.rejects(assistant(key), (e: Error & { code?: number }) => e.code === 401);
  });

  test('a key over its rate limit is refused with 429', async () => {
    const { key } = await newKey({ name: 'limited', rateLimitPerMinute: 3 });
    const client = await assistant(key); // initialize + initialized: two requests
    await client.listTools();
    await assert.rejects(client.callTool({ name: 'list_connections', arguments: {} }), (e: Error & { code?: number }) => {
      assert.equal(e.code, 429);
      assert.match(e.message, /more than 3 requests in a minute/);
      return true;
    });
  });

  test('a call_api counts once against the key\'s rate limit (its /mcp request), not again at the gateway; a caller cannot claim the same', async () => {
    const { key } = await newKey({ name: 'limited caller', rateLimitPerMinute: 6 });
    const client = await assistant(key); // initialize + initialized: requests 1 and 2
    for (let i = 3; i <= 6; i++) {
      const r = await call(client, 'call_api', { connection: alice, path: '/api/me' }); // requests 3 … 6
      assert.equal(r.isError, false, `call ${i}: ${r.text}`);
      assert.match(r.parts[0]!, /^HTTP 200/);
    }
    await assert.rejects(client.callTool({ name: 'call_api', arguments: { connection: alice, path: '/api/me' } }), (e: Error & { code?: number }) => {
      assert.equal(e.code, 429);
      return true;
    });
    // Sending the MCP call header directly gets a REST caller nothing: without this process's secret the call is counted.
    const { key: rest } = await newKey({ name: 'rest caller', rateLimitPerMinute: 2 });
    const headers = { authorization: `Bearer ${rest}`, 'keyway-mcp-call': 'guessed' };
    assert.equal((await fetch(`${t.kw.url}/v1/proxy/${alice}/api/me`, { headers })).status, 200);
    assert.equal((await fetch(`${t.kw.url}/v1/proxy/${alice}/api/me`, { headers })).status, 200);
    const third = await fetch(`${t.kw.url}/v1/proxy/${alice}/api/me`, { headers });
    assert.equal(third.status, 429);
    assert.ok(Number(third.headers.get('retry-after')) > 0);
  });

  test('a JSON-RPC batch counts each of its messages against the rate limit: one POST cannot carry more calls than the key may make', async () => {
    const { key } = await newKey({ name: 'batching caller', rateLimitPerMinute: 5 });
    const post = (messages: unknown[]) => fetch(`${t.kw.url}/mcp`, {
      method: 'POST', body: JSON.stringify(messages),
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-03-26' },
    });
    const callMe = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'call_api', arguments: { connection: bob, path: '/items' } } });
    const before = upstream.seen.length;
    const tooMany = await post(Array.from({ length: 8 }, (_, i) => callMe(i + 1)));
    assert.equal(tooMany.status, 429, await tooMany.text());
    assert.ok(Number(tooMany.headers.get('retry-after')) > 0);
    assert.equal(upstream.seen.length, before, 'none of the batch\'s calls reached the provider');
    const { key: roomy } = await newKey({ name: 'batching within its limit', rateLimitPerMinute: 3 });
    const reached = upstream.seen.length;
    const fits = await fetch(`${t.kw.url}/mcp`, {
      method: 'POST', body: JSON.stringify([callMe(1), callMe(2), callMe(3)]),
      headers: { authorization: `Bearer ${roomy}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-03-26' },
    });
    assert.equal(fits.status, 200, 'three messages for a key with three requests a minute');
    const answers = (await fits.json()) as Array<{ id: number; result?: { content: Array<{ text: string }> } }>;
    assert.deepEqual(answers.map((a) => a.id).sort(), [1, 2, 3]);
    for (const a of answers) assert.match(a.result?.content[0]?.text ?? '', /^HTTP 200/);
    assert.equal(upstream.seen.length, reached + 3);
    const next = await fetch(`${t.kw.url}/v1/me`, { headers: { authorization: `Bearer ${roomy}` } });
    assert.equal(next.status, 429, 'the batch used up the key\'s minute');
  });

  test('a connection that needs re-auth answers with a connect link; once the person reconnects the assistant carries on', async () => {
    const carol = await connect(sandboxInt, 'carol');
    const { key: managerKey } = await newKey({ name: 'assistant that may manage', scope: { manage: true } });
    const client = await assistant(managerKey);
    await provider.sandbox.revokeAccountGrants('carol');
    t.clock.advance(6 * MIN); // the access token expired; its refresh token is dead at the provider

    const failed = await call(client, 'call_api', { connection: carol, path: '/api/me' });
    assert.equal(failed.isError, true);
    const out = json(failed.text);
    assert.equal(out['error'].code, 'needs_reauth');
    assert.match(out['error'].message, /Reconnect/);
    assert.ok(out['connectUrl'].startsWith(`${t.kw.url}/connect/`), out['connectUrl']);
    assert.match(out['instructions'], /Show this link to the person/);

    const status = await call(client, 'connection_status', { connection: carol });
    assert.equal(status.isError, false);
    const s = json(status.text);
    assert.equal(s['status'], 'needs_reauth');
    assert.match(s['statusReason'], /invalid_grant/);
    assert.ok(s['connectUrl'].startsWith(`${t.kw.url}/connect/`));
    assert.match(s['instructions'], /retry/);

    // A key that may only use connections gets the status and who can fix it, as the REST API would.
    const user = await call(await assistant(assistantKey), 'connection_status', { connection: carol });
    assert.equal(json(user.text)['status'], 'needs_reauth');
    assert.equal(json(user.text)['connectUrl'], undefined);
    assert.match(json(user.text)['noConnectLink'], /may only use connections.*reconnect it in Keyway/);

    const jar = new CookieJar();
    const { callbackUrl } = await startAndAuthorize(s['connectUrl'], provider, jar, { username: 'carol' });
    assert.match(await (await jar.fetch(callbackUrl)).text(), /Reconnected!/);
    await rememberTokens(carol);
    assert.equal(json((await call(client, 'connection_status', { connection: carol })).text)['status'], 'active');
    const again = await call(client, 'call_api', { connection: carol, path: '/api/me' });
    assert.equal(again.isError, false, again.text);
    assert.equal(json(again.parts[1]!)['sub'], 'carol');
  });

  test('connect gives a link for an integration with no connection yet, and the new connection is then listed', async () => {
    const fresh = (await addIntegration(t, provider, { apiBaseUrl: provider.issuer })).id;
    const client = await assistant(assistantKey);
    const listed = json((await call(client, 'list_connections', {})).text);
    assert.ok(listed['integrationsWithoutConnection'].some((i: { integration: string }) => i.integration === fresh));
    const r = await call(client, 'connect', { integration: fresh, name: 'Dave\'s sandbox' });
    assert.equal(r.isError, false, r.text);
    const link = json(r.text);
    assert.match(link['instructions'], /Show this link to the person/);
    const jar = new CookieJar();
    const { callbackUrl } = await startAndAuthorize(link['connectUrl'], provider, jar, { username: 'dave' });
    assert.match(await (await jar.fetch(callbackUrl)).text(), /Connected!/);
    const now = json((await call(client, 'list_connections', { integration: fresh })).text);
    assert.equal(now['connections'].length, 1);
    assert.equal(now['connections'][0].name, 'Dave\'s sandbox');
    await rememberTokens(now['connections'][0].id);
    const me = await call(client, 'call_api', { connection: now['connections'][0].id, path: '/api/me' });
    assert.equal(json(me.parts[1]!)['sub'], 'dave');
  });

  test('no token or API key appears in any tool result, the audit log or the logs', async () => {
    for (const id of [alice, bob]) await rememberTokens(id);
    secrets.add(t.kw.services.mcpCallToken); // the tools' gateway secret, sent with every call_api
    assert.ok(results.length > 20, 'the tests above produced tool results');
    await t.kw.services.audit.flush();
    const audit = JSON.stringify((await t.api('GET', '/v1/audit?limit=200')).body);
    const logs = t.logs.text();
    assert.match(logs, /\/mcp/, 'the MCP requests were logged');
    assert.doesNotMatch(logs, /MCP (tool call|request) failed/);
    for (const secret of secrets) {
      assert.ok(secret.length >= 16);
      for (const text of results) assert.ok(!text.includes(secret), 'a secret in a tool result');
      assert.ok(!audit.includes(secret), 'a secret in the audit log');
      assert.ok(!logs.includes(secret), 'a secret in the logs');
    }
  });
});
