import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDefinition } from '../src/catalog/index.ts';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { type PrivateKeyJwtProvider, startPrivateKeyJwtProvider } from './helpers/pkjwt-provider.ts';
import { CLIENT_SECRET, type TestKeyway, startProvider, startTestKeyway } from './helpers/keyway.ts';

const MIN = 60_000;

describe('client credentials: machine connections with no user', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let pkjwt: PrivateKeyJwtProvider;
  let integration: string;
  const grants = () => provider.sandbox.stats.tokenRequests['client_credentials'] ?? 0;
  const items = (token: string) => fetch(`${provider.issuer}/api/items`, { headers: { authorization: `Bearer ${token}` } });

  /** A machine client at the sandbox and a Keyway integration for it. */
  async function machineIntegration(provider_: string, clientId: string, method: 'client_secret_basic' | 'client_secret_post', extra: Record<string, unknown> = {}): Promise<string> {
    await provider.sandbox.registerClient({ clientId, clientSecret: CLIENT_SECRET, redirectUris: [], grantTypes: ['client_credentials'], tokenEndpointAuthMethod: method });
    const res = await t.api('POST', '/v1/integrations', { provider: provider_, clientId, clientSecret: CLIENT_SECRET, scopes: ['items:read'], ...extra });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id;
  }

  before(async () => {
    provider = await startProvider();
    pkjwt = await startPrivateKeyJwtProvider();
    // A built-in-style definition whose token endpoint takes client_secret_post.
    const postDef = parseDefinition({
      id: 'machine-post', name: 'Machine (post)', grants: ['client_credentials'], tokenUrl: `${provider.issuer}/token`,
      clientAuth: 'client_secret_post', scopes: { default: ['items:read'] },
    }, 'test');
    t = await startTestKeyway({ extraDefinitions: [postDef] });
    integration = await machineIntegration('custom', 'machine-basic', 'client_secret_basic', { issuer: provider.issuer });
  });
  after(async () => {
    await t.close();
    await provider.close();
    await pkjwt.close();
  });

  test('a connection is created with a token fetched at once, and no person behind it', async () => {
    const before = grants();
    const res = await t.api('POST', '/v1/connections', { integration, type: 'client_credentials', scopes: ['items:read'], name: 'Nightly sync', externalId: 'job-1' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const c = res.body;
    assert.match(c.id, /^conn_/);
    assert.equal(c.type, 'client_credentials');
    assert.equal(c.name, 'Nightly sync');
    assert.equal(c.status, 'active');
    assert.equal(c.account, null);
    assert.equal(c.hasRefreshToken, false);
    assert.deepEqual(c.grantedScopes, ['items:read']);
    assert.ok(Date.parse(c.accessTokenExpiresAt) > t.clock.now());
    assert.equal(grants() - before, 1);
    const token = await t.api('GET', `/v1/connections/${c.id}/token`);
    assert.equal(token.status, 200);
    assert.equal((await items(token.body.accessToken)).status, 200);
    const me = await (await fetch(`${provider.issuer}/api/me`, { headers: { authorization: `Bearer ${token.body.accessToken}` } })).json();
    assert.equal(me.sub, 'client:machine-basic', 'a token of the client itself, no user');
  });

  test('the token is fetched again by the refresh-ahead rule once it expires, with no user', async () => {
    const c = (await t.api('POST', '/v1/connections', { integration, type: 'client_credentials' })).body;
    const first = await t.api('GET', `/v1/connections/${c.id}/token`);
    const start = grants();
    t.clock.advance(2 * MIN);
    assert.equal((await t.api('GET', `/v1/connections/${c.id}/token`)).body.accessToken, first.body.accessToken, 'still fresh: no new grant');
    assert.equal(grants(), start);
    t.clock.advance(4 * MIN); // past its 5-minute lifetime
    const renewed = await t.api('GET', `/v1/connections/${c.id}/token`);
    assert.equal(renewed.status, 200);
    assert.notEqual(renewed.body.accessToken, first.body.accessToken);
    assert.ok(Date.parse(renewed.body.expiresAt) > t.clock.now());
    assert.equal(grants() - start, 1);
    assert.equal((await items(renewed.body.accessToken)).status, 200);
    const conn = await t.api('GET', `/v1/connections/${c.id}`);
    assert.equal(conn.body.status, 'active');
    assert.ok(conn.body.lastRefreshedAt);
    const audit = await t.api('GET', `/v1/audit?connection=${c.id}&action=token.refresh`);
    assert.equal(audit.body.data[0].actor.type, 'system');
  });

  test('POST /refresh fetches a new token at once', async () => {
    const c = (await t.api('POST', '/v1/connections', { integration, type: 'client_credentials' })).body;
    const before = (await t.api('GET', `/v1/connections/${c.id}/token`)).body.accessToken;
    const res = await t.api('POST', `/v1/connections/${c.id}/refresh`);
    assert.equal(res.status, 200);
    assert.notEqual((await t.api('GET', `/v1/connections/${c.id}/token`)).body.accessToken, before);
  });

  test('client_secret_post when the definition says so', async () => {
    const id = await machineIntegration('machine-post', 'machine-post-client', 'client_secret_post');
    const res = await t.api('POST', '/v1/connections', { integration: id, type: 'client_credentials' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const token = await t.api('GET', `/v1/connections/${res.body.id}/token`);
    assert.equal((await items(token.body.accessToken)).status, 200);
  });

  test('private_key_jwt with a key held by the integration (encrypted, never shown)', async () => {
    const created = await t.api('POST', '/v1/integrations', {
      provider: 'custom', issuer: pkjwt.issuer, clientId: pkjwt.clientId, privateKey: pkjwt.privateKeyPem, scopes: ['items:read'],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.hasPrivateKey, true);
    assert.equal(created.body.hasClientSecret, false);
    const res = await t.api('POST', '/v1/connections', { integration: created.body.id, type: 'client_credentials' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const token = await t.api('GET', `/v1/connections/${res.body.id}/token`);
    assert.equal(await pkjwt.isActive(token.body.accessToken), true);

    const keyBody = pkjwt.privateKeyPem.split('\n').slice(1, -2).join('');
    assert.equal(JSON.stringify((await t.api('GET', `/v1/integrations/${created.body.id}`)).body).includes(keyBody.slice(0, 40)), false);
    for (const f of readdirSync(t.dataDir).filter((n) => n.startsWith('keyway.db'))) {
      assert.equal(readFileSync(join(t.dataDir, f)).includes(Buffer.from(keyBody.slice(0, 40))), false, `private key in ${f}`);
    }
    assert.equal(t.logs.text().includes(keyBody.slice(0, 40)), false);
  });

  test('a private key that is not a PEM key is refused when the integration is added', async () => {
    const res = await t.api('POST', '/v1/integrations', { provider: 'custom', issuer: pkjwt.issuer, clientId: 'x', privateKey: 'not a key' });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /PEM private key/);
  });

  test('when the provider refuses the client, nothing is stored and the error says what the provider said', async () => {
    const bad = await t.api('POST', '/v1/integrations', { provider: 'custom', issuer: provider.issuer, clientId: 'machine-basic', clientSecret: 'wrong-secret', scopes: ['items:read'] });
    const count = (await t.api('GET', `/v1/connections?integration=${bad.body.id}`)).body.data.length;
    const res = await t.api('POST', '/v1/connections', { integration: bad.body.id, type: 'client_credentials' });
    assert.equal(res.status, 502);
    assert.equal(res.body.error.code, 'provider_error');
    assert.match(res.body.error.message, /refused the client credentials/);
    assert.equal(res.body.error.providerError, 'invalid_client');
    assert.equal((await t.api('GET', `/v1/connections?integration=${bad.body.id}`)).body.data.length, count);
    assert.equal(JSON.stringify(res.body).includes('wrong-secret'), false);
  });

  test('no client secret or machine token in the database file, the logs or the audit log', async () => {
    const c = (await t.api('POST', '/v1/connections', { integration, type: 'client_credentials' })).body;
    const token = (await t.api('GET', `/v1/connections/${c.id}/token`)).body.accessToken as string;
    await t.kw.services.audit.flush();
    const audit = JSON.stringify((await t.api('GET', '/v1/audit?limit=200')).body);
    for (const secret of [token, CLIENT_SECRET]) {
      for (const f of readdirSync(t.dataDir).filter((n) => n.startsWith('keyway.db'))) {
        assert.equal(readFileSync(join(t.dataDir, f)).includes(Buffer.from(secret)), false, `secret in ${f}`);
      }
      assert.equal(t.logs.text().includes(secret), false, 'secret in logs');
      assert.equal(audit.includes(secret), false, 'secret in audit');
    }
  });

  test('a provider that does not offer client credentials is refused, and so are the password and implicit types', async () => {
    const gh = await t.api('POST', '/v1/integrations', { provider: 'github', clientId: 'Iv1.x', clientSecret: 'y' });
    const res = await t.api('POST', '/v1/connections', { integration: gh.body.id, type: 'client_credentials' });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /GitHub does not offer the client_credentials grant/);
    for (const type of ['password', 'implicit']) {
      const refused = await t.api('POST', '/v1/connections', { integration, type, username: 'u', password: 'p' });
      assert.equal(refused.status, 400);
      assert.match(refused.body.error.message, /OAuth 2\.1 removed the implicit and resource owner password/);
    }
  });
});
