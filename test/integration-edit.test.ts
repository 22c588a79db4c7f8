/**
 * Editing integrations (rotate the client secret, change scopes, rename), deleting one that still
 * has connections (refused unless forced; forced disconnects each with revocation), and importing
 * tokens issued elsewhere (API and `keyway import FILE.jsonl`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { importCommand } from '../src/cli/import.ts';
import { CLIENT_SECRET, type TestKeyway, addIntegration, connectInBrowser, startProvider, startTestKeyway } from './helpers/keyway.ts';
import { type RotatingProvider, startRotatingProvider } from './helpers/rotating-provider.ts';

const MIN = 60_000;

describe('editing integrations', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  before(async () => {
    provider = await startProvider({ rotateRefreshTokens: true });
    t = await startTestKeyway();
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  async function connect(integration: string, username: string): Promise<string> {
    const run = await connectInBrowser(t, provider, integration, { username, session: { externalId: username } });
    assert.match(run.page.text, /Connected!/);
    return (await t.api('GET', `/v1/connections?externalId=${username}`)).body.data[0].id;
  }

  test('rotating the client secret: the new one is used at once and every connection keeps working', async () => {
    const integ = await addIntegration(t, provider);
    const ids = [await connect(integ.id, 'rot-a'), await connect(integ.id, 'rot-b'), await connect(integ.id, 'rot-c')];
    const NEW_SECRET = 'rotated-secret-9d41c0';
    // The provider now knows only the new secret (as after "regenerate secret" at a real provider).
    await provider.sandbox.registerClient({ clientId: integ.clientId, clientSecret: NEW_SECRET, redirectUris: [integ.redirectUri] });
    const patched = await t.api('PATCH', `/v1/integrations/${integ.id}`, { clientSecret: NEW_SECRET });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.hasClientSecret, true);
    assert.ok(!JSON.stringify(patched.body).includes(NEW_SECRET), 'the secret is never shown back');
    t.clock.advance(6 * MIN);
    for (const id of ids) {
      const r = await t.api('GET', `/v1/connections/${id}/token`);
      assert.equal(r.status, 200, `connection ${id} refreshed with the new secret: ${JSON.stringify(r.body)}`);
      assert.equal((await t.api('GET', `/v1/connections/${id}`)).body.status, 'active');
    }
    const audit = await t.api('GET', `/v1/audit?integration=${integ.id}&action=integration.update`);
    assert.deepEqual(audit.body.data[0].detail.changed, ['clientSecret']);
    assert.ok(!JSON.stringify(audit.body).includes(NEW_SECRET) && !t.logs.text().includes(NEW_SECRET), 'no secret in audit or logs');
  });

  test('changing scopes: existing connections keep theirs and say to re-authenticate; new consents ask for the new ones; rename', async () => {
    const integ = await addIntegration(t, provider);
    const id = await connect(integ.id, 'scopes-a');
    const before = (await t.api('GET', `/v1/connections/${id}`)).body;
    const patched = await t.api('PATCH', `/v1/integrations/${integ.id}`, { scopes: [...before.requestedScopes, 'email'], name: 'Sandbox (renamed)' });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.name, 'Sandbox (renamed)');
    const after = (await t.api('GET', `/v1/connections/${id}`)).body;
    assert.deepEqual(after.grantedScopes, before.grantedScopes, 'the connection keeps its scopes');
    assert.deepEqual(after.newIntegrationScopes, ['email']);
    assert.match(after.scopeNote, /re-authenticate to get the new scopes/);
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 200, 'and keeps working');
    const listed = (await t.api('GET', `/v1/connections?integration=${integ.id}`)).body.data[0];
    assert.match(listed.scopeNote, /email/);
    const s = await t.api('POST', '/v1/connect-sessions', { integration: integ.id });
    const first = await fetch(s.body.connectUrl, { redirect: 'manual' });
    assert.match(new URL(first.headers.get('location') ?? '').searchParams.get('scope') ?? '', /\bemail\b/);
    const empty = await t.api('PATCH', `/v1/integrations/${integ.id}`, {});
    assert.equal(empty.status, 400);
    assert.match(empty.body.error.message, /Nothing to change/);
  });

  test('deleting an integration with connections is refused, unless forced: then each is disconnected and revoked', async () => {
    const integ = await addIntegration(t, provider);
    const a = await connect(integ.id, 'del-a');
    const b = await connect(integ.id, 'del-b');
    const c = (await t.kw.services.store.connections.get(t.kw.orgId, a))!;
    const refreshA = await t.kw.services.vault.decrypt({ orgId: c.orgId, recordId: c.id, field: 'refresh_token' }, c.refreshTokenEnc!);
    const refused = await t.api('DELETE', `/v1/integrations/${integ.id}`);
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /force=true/);
    assert.equal((await t.api('GET', `/v1/connections/${a}`)).status, 200, 'nothing was touched');
    const forced = await t.api('DELETE', `/v1/integrations/${integ.id}?force=true`);
    assert.equal(forced.status, 204);
    for (const id of [a, b]) assert.equal((await t.api('GET', `/v1/connections/${id}`)).status, 404);
    assert.equal((await t.api('GET', `/v1/integrations/${integ.id}`)).status, 404);
    const introspect = await fetch(`${provider.issuer}/token/introspection`, {
      method: 'POST', body: new URLSearchParams({ token: refreshA }),
      headers: { authorization: `Basic ${Buffer.from(`${integ.clientId}:${CLIENT_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(((await introspect.json()) as { active: boolean }).active, false, 'revoked at the provider');
    const deletes = await t.api('GET', `/v1/audit?action=connection.delete&integration=${integ.id}`);
    assert.equal(deletes.body.data.length, 2);
  });
});

describe('importing tokens issued elsewhere', () => {
  let t: TestKeyway;
  let provider: RotatingProvider;
  let integration: string;
  const dir = mkdtempSync(join(tmpdir(), 'keyway-import-'));
  before(async () => {
    t = await startTestKeyway();
    provider = await startRotatingProvider({ accessTtlSeconds: 3600, now: () => t.clock.now() });
    integration = (await t.api('POST', '/v1/integrations', {
      provider: 'custom', clientId: 'imp', clientSecret: 'imp-secret-55aa',
      authorizationUrl: `${provider.url}/authorize`, tokenUrl: `${provider.url}/token`, scopes: ['me'],
    })).body.id;
  });
  after(async () => {
    await t.close();
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Tokens the provider issued to "another platform": a real authorization_code exchange at it. */
  async function mint(): Promise<{ access_token: string; refresh_token: string }> {
    const res = await fetch(`${provider.url}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code: 'elsewhere' }) });
    return (await res.json()) as { access_token: string; refresh_token: string };
  }

  test('an imported refresh token is proved by the first refresh; a bad one turns the connection needs_reauth with a reason', async () => {
    const good = await mint();
    const ok = await t.api('POST', '/v1/connections', { integration, type: 'oauth2', refreshToken: good.refresh_token, externalId: 'imported-1' });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.type, 'oauth2');
    assert.ok(!JSON.stringify(ok.body).includes(good.refresh_token));
    const token = await t.api('GET', `/v1/connections/${ok.body.id}/token`);
    assert.equal(token.status, 200);
    assert.ok(provider.isValid(token.body.accessToken), 'the first refresh produced a token the provider accepts');

    const bad = await t.api('POST', '/v1/connections', { integration, type: 'oauth2', refreshToken: 'rt_not_from_this_provider', externalId: 'imported-2' });
    assert.equal(bad.status, 201);
    assert.equal((await t.api('GET', `/v1/connections/${bad.body.id}/token`)).status, 409);
    const shown = (await t.api('GET', `/v1/connections/${bad.body.id}`)).body;
    assert.equal(shown.status, 'needs_reauth');
    assert.match(shown.statusReason, /invalid_grant/);

    const withAccess = await mint();
    const kept = await t.api('POST', '/v1/connections', {
      integration, type: 'oauth2', refreshToken: withAccess.refresh_token, accessToken: withAccess.access_token,
      expiresAt: new Date(t.clock.now() + 30 * MIN).toISOString(),
    });
    const served = await t.api('GET', `/v1/connections/${kept.body.id}/token`);
    assert.equal(served.body.accessToken, withAccess.access_token, 'a still-valid imported access token is used as is');
  });

  test('keyway import of 1,000 lines with 3 bad ones imports the rest and reports exactly those 3 by line', async () => {
    const lines: string[] = [];
    for (let i = 1; i <= 1000; i++) {
      if (i === 17) lines.push('{"integration": "' + integration + '", "refreshToken": ');
      else if (i === 500) lines.push(JSON.stringify({ integration, externalId: `bulk-${i}` }));
      else if (i === 999) lines.push(JSON.stringify({ integration: 'int_does_not_exist', refreshToken: 'rt_secret_line_999', externalId: `bulk-${i}` }));
      else lines.push(JSON.stringify({ integration, refreshToken: `rt_bulk_${i}`, externalId: `bulk-${i}` }));
    }
    const file = join(dir, 'tokens.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    let out = '';
    let err = '';
    const report = await importCommand([file, '--url', t.kw.url], {
      out: (s) => { out += s; }, err: (s) => { err += s; }, env: { KEYWAY_API_KEY: t.apiKey, KEYWAY_DATA_DIR: t.dataDir },
    });
    assert.equal(report.imported, 997);
    assert.deepEqual(report.failures.map((f) => f.line), [17, 500, 999]);
    assert.match(err, /line 17: not valid JSON/);
    assert.match(err, /line 500: .*refreshToken/);
    assert.match(err, /line 999: .*int_does_not_exist/);
    assert.ok(!err.includes('rt_secret_line_999') && !out.includes('rt_bulk_'), 'no token in the report');
    assert.match(out, /Imported 997 of 1000 lines; 3 failed/);
    const page = await t.api('GET', '/v1/connections?externalId=bulk-998');
    assert.equal(page.body.data.length, 1);
  });
});
