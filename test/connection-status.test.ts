import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseDefinition } from '../src/catalog/index.ts';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { CLIENT_SECRET, type TestKeyway, addIntegration, connectInBrowser, startProvider, startTestKeyway } from './helpers/keyway.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe('connection status: active, refresh_failing, needs_reauth, each with a reason and a time', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let gate: Server;
  let gateMode: 'pass' | 'down' = 'pass';
  let gateTokenUrl = '';
  const refreshes = () => provider.sandbox.stats.tokenRequests['refresh_token'] ?? 0;

  before(async () => {
    provider = await startProvider();
    // In front of the real token endpoint: adds refresh_token_expires_in (2 hours), or answers 503.
    gate = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      if (gateMode === 'down') {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable');
        return;
      }
      const upstream = await fetch(`${provider.issuer}/token`, {
        method: 'POST', body: Buffer.concat(chunks),
        headers: { 'content-type': req.headers['content-type'] ?? '', authorization: req.headers.authorization ?? '' },
      });
      const body = await upstream.json() as Record<string, unknown>;
      if (upstream.ok) body['refresh_token_expires_in'] = 2 * 3600;
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
    const gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}`;
    // A provider whose definition says refresh tokens live one day.
    const oneDay = parseDefinition({
      id: 'one-day-refresh', name: 'One-day refresh', authorizationUrl: `${provider.issuer}/auth`, tokenUrl: `${provider.issuer}/token`,
      scopes: { default: ['items:read'] }, refresh: { kind: 'rotating', refreshTokenLifetimeDays: 1 },
    }, 'test');
    gateTokenUrl = `${gateUrl}/token`;
    t = await startTestKeyway({ extraDefinitions: [oneDay] });
  });
  after(async () => {
    await t.close();
    await new Promise((r) => gate.close(r));
    await provider.close();
  });

  async function connect(integration: string, username: string): Promise<string> {
    const run = await connectInBrowser(t, provider, integration, { username, session: { externalId: username } });
    assert.match(run.page.text, /Connected!/, run.page.text);
    return (await t.api('GET', `/v1/connections?externalId=${username}`)).body.data[0].id;
  }
  const get = async (id: string) => (await t.api('GET', `/v1/connections/${id}`)).body;

  test('a refresh token past the definition\'s lifetime turns the connection needs_reauth on read and in lists, before any call fails', async () => {
    const created = await t.api('POST', '/v1/integrations', { provider: 'one-day-refresh', clientId: 'one-day', clientSecret: CLIENT_SECRET });
    await provider.sandbox.registerClient({ clientId: 'one-day', clientSecret: CLIENT_SECRET, redirectUris: [created.body.redirectUri] });
    const id = await connect(created.body.id, 'olga');
    const fresh = await get(id);
    assert.equal(fresh.status, 'active');
    assert.equal(Date.parse(fresh.refreshTokenExpiresAt), t.clock.now() + DAY);

    t.clock.advance(DAY + MIN);
    const listed = (await t.api('GET', '/v1/connections?status=needs_reauth')).body.data.map((c: { id: string }) => c.id);
    assert.ok(listed.includes(id), 'the status filter already sees it');
    const red = await get(id);
    assert.equal(red.status, 'needs_reauth');
    assert.match(red.statusReason, /refresh token expired at .*Reconnect to restore access/);
    assert.equal(red.statusSince, new Date(t.clock.now()).toISOString());

    const start = refreshes();
    const call = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(call.status, 409);
    assert.equal(call.body.error.code, 'needs_reauth');
    assert.equal(call.body.error.connection, id);
    assert.equal(refreshes(), start, 'the provider was not asked with a dead refresh token');
  });

  test('refresh_token_expires_in from the provider is tracked, and the scheduler\'s sweep turns the connection red', async () => {
    const integration = await addIntegration(t, provider, {
      issuer: undefined, authorizationUrl: `${provider.issuer}/auth`, tokenUrl: gateTokenUrl, scopes: ['items:read'],
    });
    const id = await connect(integration.id, 'pavel');
    assert.equal(Date.parse((await get(id)).refreshTokenExpiresAt), t.clock.now() + 2 * HOUR);
    t.clock.advance(2 * HOUR + MIN);
    assert.equal((await t.kw.services.store.connections.get(t.kw.orgId, id))!.status, 'active', 'nobody has looked yet');
    assert.ok(await t.kw.services.tokens.sweepNeedsReauth() >= 1);
    const row = (await t.kw.services.store.connections.get(t.kw.orgId, id))!;
    assert.equal(row.status, 'needs_reauth');
    assert.match(row.statusReason ?? '', /refresh token expired/);
  });

  test('an expired token with no refresh token shows needs_reauth on read', async () => {
    const integration = await addIntegration(t, provider);
    await provider.sandbox.registerClient({ clientId: integration.clientId, clientSecret: CLIENT_SECRET, redirectUris: [integration.redirectUri], grantTypes: ['authorization_code'] });
    const id = await connect(integration.id, 'quinn');
    const c = await get(id);
    assert.equal(c.hasRefreshToken, false);
    assert.equal(c.status, 'active');
    t.clock.advance(6 * MIN);
    const red = await get(id);
    assert.equal(red.status, 'needs_reauth');
    assert.match(red.statusReason, /expired and the provider gave no refresh token/);
  });

  test('Refresh on a connection that needs re-auth answers 409 with the reason, calls nobody and audits no refresh', async () => {
    const integration = await addIntegration(t, provider);
    const imported = await t.api('POST', '/v1/connections', { integration: integration.id, type: 'oauth2', refreshToken: 'rt_the_provider_refuses' });
    assert.equal(imported.status, 201, JSON.stringify(imported.body));
    const id: string = imported.body.id;
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 409, 'the refused refresh turns it red');
    const before = refreshes();
    const refresh = await t.api('POST', `/v1/connections/${id}/refresh`);
    assert.equal(refresh.status, 409, JSON.stringify(refresh.body));
    assert.equal(refresh.body.error.code, 'needs_reauth');
    assert.match(refresh.body.error.message, /invalid_grant|Reconnect/);
    assert.equal(refreshes(), before, 'nothing was sent to the provider');
    await t.kw.services.audit.flush();
    const entries = (await t.api('GET', `/v1/audit?action=token.refresh&connection=${id}`)).body.data as Array<{ outcome: string }>;
    assert.ok(!entries.some((e) => e.outcome === 'ok'), 'no refresh is recorded as done');
  });

  test('transient failures: amber refresh_failing with its reason and since, then active again', async () => {
    const integration = await addIntegration(t, provider, {
      issuer: undefined, authorizationUrl: `${provider.issuer}/auth`, tokenUrl: gateTokenUrl, scopes: ['items:read'],
    });
    const id = await connect(integration.id, 'rosa');
    const since = (await get(id)).statusSince;
    gateMode = 'down';
    try {
      t.clock.advance(4 * MIN + 30_000); // in the refresh window, not yet expired
      for (let i = 0; i < 3; i++) assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 200);
      const amber = await get(id);
      assert.equal(amber.status, 'refresh_failing');
      assert.match(amber.statusReason, /unavailable/);
      assert.notEqual(amber.statusSince, since);
      assert.equal(amber.statusSince, new Date(t.clock.now()).toISOString());
    } finally {
      gateMode = 'pass';
    }
    assert.equal((await t.api('POST', `/v1/connections/${id}/refresh`)).status, 200);
    const green = await get(id);
    assert.equal(green.status, 'active');
    assert.equal(green.statusReason, null);
  });
});
