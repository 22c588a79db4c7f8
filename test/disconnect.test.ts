import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { CLIENT_SECRET, type TestKeyway, addIntegration, connectInBrowser, startProvider, startTestKeyway } from './helpers/keyway.ts';

describe('disconnect: tokens deleted at once, revoked at the provider (RFC 7009)', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let down: Server;
  let downUrl: string;
  const secrets: string[] = [];

  before(async () => {
    provider = await startProvider();
    // A revocation endpoint having a bad day.
    down = createServer((_req, res) => { res.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable'); });
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    downUrl = `http://127.0.0.1:${(down.address() as AddressInfo).port}`;
    t = await startTestKeyway();
  });
  after(async () => {
    await t.close();
    await new Promise((r) => down.close(r));
    await provider.close();
  });

  async function connect(integration: string, username: string): Promise<{ id: string; accessToken: string; refreshToken: string }> {
    const run = await connectInBrowser(t, provider, integration, { username, session: { externalId: username } });
    assert.match(run.page.text, /Connected!/);
    const id = (await t.api('GET', `/v1/connections?externalId=${username}`)).body.data[0].id;
    const c = (await t.kw.services.store.connections.get(t.kw.orgId, id))!;
    const refreshToken = await t.kw.services.vault.decrypt({ orgId: c.orgId, recordId: c.id, field: 'refresh_token' }, c.refreshTokenEnc!);
    const accessToken = (await t.api('GET', `/v1/connections/${id}/token`)).body.accessToken;
    secrets.push(accessToken, refreshToken);
    return { id, accessToken, refreshToken };
  }

  const introspect = async (clientId: string, token: string): Promise<boolean> => {
    const res = await fetch(`${provider.issuer}/token/introspection`, {
      method: 'POST', body: new URLSearchParams({ token }),
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${CLIENT_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    return ((await res.json()) as { active: boolean }).active;
  };
  const disconnect = (id: string) => fetch(`${t.kw.url}/v1/connections/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${t.apiKey}` } });
  const deleteEntry = async (id: string) => (await t.api('GET', `/v1/audit?connection=${id}&action=connection.delete`)).body.data[0];

  test('the provider revokes the grant: its introspection then says inactive, and the connection is gone', async () => {
    const integration = await addIntegration(t, provider);
    const { id, accessToken, refreshToken } = await connect(integration.id, 'ruth');
    assert.equal(await introspect(integration.clientId, refreshToken), true);
    assert.equal(await introspect(integration.clientId, accessToken), true);

    const res = await disconnect(id);
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('keyway-hint'), null, 'nothing left to do');
    assert.equal(await introspect(integration.clientId, refreshToken), false);
    assert.equal(await introspect(integration.clientId, accessToken), false, 'revoking the refresh token ended the grant');
    assert.equal((await fetch(`${provider.issuer}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status, 401);
    assert.equal((await t.api('GET', `/v1/connections/${id}`)).status, 404);
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 404);
    const entry = await deleteEntry(id);
    assert.equal(entry.outcome, 'ok');
    assert.equal(entry.detail.revocation, 'revoked');
    assert.equal(entry.detail.revokedToken, 'refresh_token');
  });

  test('a revocation endpoint that is down does not block the delete; the audit entry says to revoke at the provider', async () => {
    const integration = await addIntegration(t, provider, {
      issuer: undefined, authorizationUrl: `${provider.issuer}/auth`, tokenUrl: `${provider.issuer}/token`, revocationUrl: `${downUrl}/revoke`, scopes: ['items:read'],
    });
    const { id, refreshToken } = await connect(integration.id, 'sam');
    const res = await disconnect(id);
    assert.equal(res.status, 204);
    assert.match(res.headers.get('keyway-hint') ?? '', /revoking them at Custom OAuth failed .*connected apps/);
    assert.equal((await t.api('GET', `/v1/connections/${id}`)).status, 404);
    assert.equal(await t.kw.services.store.connections.get(t.kw.orgId, id), null);
    const entry = await deleteEntry(id);
    assert.equal(entry.outcome, 'error');
    assert.equal(entry.detail.revocation, 'failed');
    assert.match(entry.detail.advice, /Keyway deleted the tokens, but revoking them at Custom OAuth failed \(the revocation endpoint could not be reached\)\. To be sure the access has ended, remove Keyway from the connected apps/);
    assert.equal(await introspect(integration.clientId, refreshToken), true, 'the provider still has it: hence the advice');
  });

  test('a provider with no revocation endpoint: tokens deleted, the person is told to revoke there', async () => {
    const integration = await addIntegration(t, provider, {
      issuer: undefined, authorizationUrl: `${provider.issuer}/auth`, tokenUrl: `${provider.issuer}/token`, scopes: ['items:read'],
    });
    const { id } = await connect(integration.id, 'tess');
    const res = await disconnect(id);
    assert.equal(res.status, 204);
    assert.match(res.headers.get('keyway-hint') ?? '', /has no revocation endpoint/);
    const entry = await deleteEntry(id);
    assert.equal(entry.detail.revocation, 'not_supported');
    assert.match(entry.detail.advice, /connected apps/);
  });

  test('a disconnected connection\'s sealed tokens do not linger in the database file\'s free space', async () => {
    const integration = await addIntegration(t, provider);
    const { id } = await connect(integration.id, 'sealed');
    const c = (await t.kw.services.store.connections.get(t.kw.orgId, id))!;
    const sealed = [c.accessTokenEnc!, c.refreshTokenEnc!];
    assert.equal((await disconnect(id)).status, 204);
    // Move everything from the WAL into the file and empty the WAL, as SQLite does on its own over time.
    const db = new DatabaseSync(join(t.dataDir, 'keyway.db'));
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    db.close();
    for (const f of readdirSync(t.dataDir).filter((n) => n.startsWith('keyway.db'))) {
      const bytes = readFileSync(join(t.dataDir, f));
      for (const s of sealed) assert.equal(bytes.includes(Buffer.from(s)), false, `sealed token still in ${f}`);
    }
  });

  test('no token is left in the database file, the logs or the audit log', async () => {
    await t.kw.services.audit.flush();
    const audit = JSON.stringify((await t.api('GET', '/v1/audit?limit=200')).body);
    const files = readdirSync(t.dataDir).filter((f) => f.startsWith('keyway.db'));
    assert.ok(secrets.length >= 6);
    for (const s of secrets) {
      for (const f of files) assert.equal(readFileSync(join(t.dataDir, f)).includes(Buffer.from(s)), false, `a token in ${f}`);
      assert.equal(t.logs.text().includes(s), false, 'a token in the logs');
      assert.equal(audit.includes(s), false, 'a token in the audit log');
    }
    assert.equal((await t.api('GET', '/v1/connections?limit=200')).body.data.length, 0);
  });
});
