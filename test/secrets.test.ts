import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { CLIENT_SECRET, type TestKeyway, addIntegration, connectInBrowser, startProvider, startTestKeyway } from './helpers/keyway.ts';

/**
 * Runs a whole connect → token → refresh → delete cycle, collecting every secret the test sees,
 * then searches the database files, the captured logs and the audit log for each of them.
 */
describe('no secret in the database file, the logs or the audit log', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  const secrets = new Map<string, string>();

  before(async () => {
    provider = await startProvider();
    t = await startTestKeyway();
    const integration = await addIntegration(t, provider);
    secrets.set('client secret', CLIENT_SECRET);
    secrets.set('admin API key', t.apiKey);
    const run = await connectInBrowser(t, provider, integration.id, { username: 'secretive', session: { externalId: 'secretive' } });
    assert.match(run.page.text, /Connected!/);
    secrets.set('connect link token', new URL(run.connectUrl).pathname.split('/').pop()!);
    secrets.set('authorization code', run.callbackUrl.searchParams.get('code')!);
    secrets.set('state', run.callbackUrl.searchParams.get('state')!);
    const { store, vault } = t.kw.services;
    for (const a of await store.connectAttempts.listForSession(t.kw.orgId, run.sessionId)) {
      secrets.set('PKCE verifier', await vault.decrypt({ orgId: a.orgId, recordId: a.id, field: 'pkce_verifier' }, a.verifierEnc));
    }
    const id = (await t.api('GET', '/v1/connections?externalId=secretive')).body.data[0].id;
    const conn = (await store.connections.get(t.kw.orgId, id))!;
    secrets.set('refresh token 1', await vault.decrypt({ orgId: conn.orgId, recordId: conn.id, field: 'refresh_token' }, conn.refreshTokenEnc!));
    secrets.set('access token 1', (await t.api('GET', `/v1/connections/${id}/token`)).body.accessToken);
    t.clock.advance(6 * 60_000);
    secrets.set('access token 2', (await t.api('GET', `/v1/connections/${id}/token`)).body.accessToken);
    const after = (await store.connections.get(t.kw.orgId, id))!;
    secrets.set('refresh token 2', await vault.decrypt({ orgId: after.orgId, recordId: after.id, field: 'refresh_token' }, after.refreshTokenEnc!));
    // A failing call too: errors must not leak either.
    await t.api('GET', '/v1/connections/conn_missing/token');
    await t.kw.services.audit.flush();
    for (const [what, value] of secrets) assert.ok(value && value.length >= 16, `${what} was captured`);
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  test('the SQLite files hold no token, secret, code, verifier or API key in clear', () => {
    const files = readdirSync(t.dataDir).filter((f) => f.startsWith('keyway.db')).map((f) => join(t.dataDir, f));
    assert.ok(files.some((f) => f.endsWith('keyway.db')) && existsSync(files[0]!));
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const [what, value] of secrets) {
        assert.equal(bytes.includes(Buffer.from(value)), false, `${what} found in ${f}`);
      }
    }
  });

  test('the captured logs hold none of them', () => {
    const logs = t.logs.text();
    assert.ok(logs.includes('request completed'), 'logs were captured');
    for (const [what, value] of secrets) assert.equal(logs.includes(value), false, `${what} found in logs`);
  });

  test('the audit log records connect, token reads, refresh and holds none of them', async () => {
    const audit = await t.api('GET', '/v1/audit?limit=200');
    const actions = new Set(audit.body.data.map((e: { action: string }) => e.action));
    for (const a of ['integration.create', 'connect_session.create', 'connection.create', 'token.read', 'token.refresh']) assert.ok(actions.has(a), a);
    const text = JSON.stringify(audit.body);
    for (const [what, value] of secrets) assert.equal(text.includes(value), false, `${what} found in audit`);
  });
});
