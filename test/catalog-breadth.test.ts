/**
 * Catalog breadth (issue 4): one test per built-in provider, generated from the catalog, so a new
 * definition cannot go untested. Each test goes through a real Keyway on 127.0.0.1 as a person
 * would: an OAuth provider's connect link must send the browser to the authorization request the
 * definition describes; an API-key or Basic provider's credential must reach the API where the
 * definition says (through the gateway, against a local stand-in for the provider's API).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BUILTIN_PROVIDERS_DIR, type ProviderDefinition, fillTemplate, loadDefinitionsFromDir } from '../src/catalog/index.ts';
import { CookieJar } from './helpers/browserless.ts';
import { fakeVariant } from './helpers/fake-provider.ts';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';

const DEFINITIONS = loadDefinitionsFromDir(BUILTIN_PROVIDERS_DIR);
const byAuthorizationCode = DEFINITIONS.filter((d) => d.credential === 'oauth2' && d.grants.includes('authorization_code'));
const byStaticCredential = DEFINITIONS.filter((d) => d.credential === 'api_key' || d.credential === 'basic');

/** The providers issue 4 names, by catalog id. */
const ISSUE_4_PROVIDERS = [
  'google-drive', 'google-docs', 'google-calendar', 'gmail', 'google-analytics', 'google-search-console',
  'microsoft', 'slack', 'github', 'github-app', 'gitlab', 'bitbucket', 'box', 'dropbox', 'salesforce', 'hubspot',
  'asana', 'clio', 'callrail', 'notion', 'atlassian', 'linear', 'zoom', 'xero', 'quickbooks', 'zendesk', 'intercom',
  'shopify', 'stripe', 'airtable', 'calendly', 'docusign', 'figma', 'miro', 'monday', 'clickup', 'pipedrive', 'zoho',
  'mailchimp', 'typeform', 'discord', 'linkedin', 'spotify', 'okta', 'auth0', 'keycloak',
];

/** The categories in use; a new one is a decision, not a typo. */
const CATEGORIES = [
  'accounting', 'ai', 'analytics', 'calendar', 'communication', 'crm', 'custom', 'design', 'dev-tools', 'e-commerce',
  'e-signature', 'email', 'hr', 'identity', 'legal', 'marketing', 'media', 'payments', 'productivity', 'social',
  'storage', 'support', 'telephony', 'video',
];

/** The custom provider takes its endpoints from the integration. */
const CUSTOM_ENDPOINTS = { authorizationUrl: 'https://auth.example.com/oauth/authorize', tokenUrl: 'https://auth.example.com/oauth/token', scopes: ['read', 'write'] };

/**
 * The connection values a test connects with: each param's example (sent), or its default (not
 * sent, so the default is what Keyway uses). `sent` is the request's `params`, `values` what the
 * templates are filled with.
 */
function connectionValues(def: ProviderDefinition): { sent: Record<string, string>; values: Record<string, string> } {
  const sent: Record<string, string> = {};
  const values: Record<string, string> = {};
  for (const [name, p] of Object.entries(def.connectionParams)) {
    const value = p.example ?? p.default;
    assert.ok(value !== undefined, `${def.id}: connection param "${name}" needs an example (or a default) so it can be tested and documented`);
    if (p.example !== undefined) sent[name] = p.example;
    values[name] = value;
  }
  // Values kept from the provider (a company id from the consent redirect) fill templates like params do.
  for (const [name, k] of Object.entries(def.keep)) if (k.in === 'callback') values[name] ??= '9130350000000000';
  return { sent, values };
}

/** The last two labels of a host name (accounts.google.com → google.com). */
const siteOf = (host: string): string => host.split('.').slice(-2).join('.');

/** What the setup text must tell the person at the provider. */
function assertSetup(def: ProviderDefinition): void {
  const setup = (def.setup ?? '').replace(/\s+/g, ' ');
  assert.ok(setup.length >= 80, `${def.id}: setup steps are missing or too short`);
  assert.match(def.docs ?? '', /^https:\/\//, `${def.id}: docs link`);
  if (def.id !== 'custom') {
    assert.match(setup, /\b(?:[a-z0-9-]+\.)+(?:com|io|net|org|dev|app|us|so|co)\b/i, `${def.id}: setup names where to register (a console URL)`);
  }
  if (def.credential === 'oauth2') assert.match(setup, /redirect URI/i, `${def.id}: setup says to register Keyway's redirect URI`);
  else assert.ok(setup.includes(`"type": "${def.credential}"`), `${def.id}: setup shows the POST /v1/connections body`);
}

describe('catalog breadth: every built-in provider, tested from its own definition', () => {
  let t: TestKeyway;
  let upstream: Server;
  let upstreamBase: string;
  const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];

  before(async () => {
    upstream = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamBase = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    t = await startTestKeyway();
  });
  after(async () => {
    await t?.close();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  test('the catalog has at least 80 providers, every one issue 4 names, in a small set of categories', () => {
    const ids = DEFINITIONS.map((d) => d.id).filter((id) => id !== 'custom');
    assert.ok(ids.length >= 80, `only ${ids.length} providers`);
    for (const id of ISSUE_4_PROVIDERS) assert.ok(ids.includes(id), `${id} is missing`);
    for (const d of DEFINITIONS) {
      assert.ok(d.categories.length > 0, `${d.id} has no category`);
      for (const c of d.categories) assert.ok(CATEGORIES.includes(c), `${d.id}: unknown category "${c}"`);
    }
    for (const kind of ['crm', 'support', 'storage', 'accounting', 'dev-tools', 'calendar', 'marketing', 'hr', 'e-signature']) {
      assert.ok(DEFINITIONS.filter((d) => d.categories.includes(kind)).length >= 3, `fewer than three ${kind} providers`);
    }
    for (const credential of ['api_key', 'basic'] as const) {
      assert.ok(DEFINITIONS.filter((d) => d.credential === credential).length >= 3, `fewer than three ${credential} providers`);
    }
  });

  test('every definition is one of the kinds a generated test below covers', () => {
    const untested = DEFINITIONS.filter((d) => !byAuthorizationCode.includes(d) && !byStaticCredential.includes(d));
    assert.deepEqual(untested.map((d) => d.id), [], 'an OAuth provider without authorization_code needs a generated test of its grant here');
  });

  for (const def of byAuthorizationCode) {
    test(`${def.id}: the connect link sends the browser to ${def.name}'s authorization request as the definition describes`, async () => {
      assertSetup(def);
      const { sent, values } = connectionValues(def);
      const created = await t.api('POST', '/v1/integrations', {
        provider: def.id, clientId: `client-${def.id}`, clientSecret: 'breadth-secret', ...(def.id === 'custom' ? CUSTOM_ENDPOINTS : {}),
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const integration = created.body;
      assert.ok(integration.redirectUri.endsWith(`/oauth/callback/${integration.id}`), integration.redirectUri);
      const scopes: string[] = def.id === 'custom' ? CUSTOM_ENDPOINTS.scopes : def.scopes.default;
      assert.deepEqual(integration.scopes, scopes);

      const session = await t.api('POST', '/v1/connect-sessions', { integration: integration.id, ...(Object.keys(sent).length > 0 ? { params: sent } : {}) });
      assert.equal(session.status, 201, JSON.stringify(session.body));
      const res = await new CookieJar().fetch(session.body.connectUrl);
      assert.equal(res.status, 302, await res.text());
      const url = new URL(res.headers.get('location') ?? '');

      // Right host and path, templates filled with the connection's values.
      const template = def.id === 'custom' ? CUSTOM_ENDPOINTS.authorizationUrl : def.authorizationUrl;
      assert.ok(template, `${def.id} names no authorizationUrl: the authorization request cannot be built without discovery`);
      const expected = new URL(fillTemplate(template, values));
      assert.equal(expected.protocol, 'https:');
      assert.equal(`${url.protocol}//${url.host}${url.pathname}`, `${expected.protocol}//${expected.host}${expected.pathname}`);

      // Exactly the parameters OAuth and the definition call for, nothing else.
      const q = url.searchParams;
      const want = new Map<string, string | RegExp>([...expected.searchParams]);
      want.set('response_type', 'code');
      want.set('client_id', `client-${def.id}`);
      want.set('redirect_uri', integration.redirectUri);
      want.set('state', /^[A-Za-z0-9_-]{32,}$/);
      if (scopes.length > 0) want.set(def.scopes.param, scopes.join(def.scopes.separator));
      if (def.pkce.enabled) {
        want.set('code_challenge', /^[A-Za-z0-9_-]{43}$/); // base64url SHA-256 (RFC 7636 §4.2)
        want.set('code_challenge_method', 'S256');
      } else {
        assert.ok(def.pkce.reason.length > 10, `${def.id}: PKCE is off without a documented reason`);
      }
      if (def.oidc) want.set('nonce', /^[A-Za-z0-9_-]{16,}$/);
      for (const [k, v] of Object.entries(def.authParams)) want.set(k, v);
      assert.deepEqual([...new Set(q.keys())].sort(), [...want.keys()].sort(), `${def.id}: authorization request parameters`);
      for (const [k, v] of want) {
        assert.equal(q.getAll(k).length, 1, `${def.id}: ${k} sent once`);
        if (typeof v === 'string') assert.equal(q.get(k), v, `${def.id}: ${k}`);
        else assert.match(q.get(k) ?? '', v, `${def.id}: ${k}`);
      }

      // ID tokens are checked against the issuer; it must be the provider's own, filled the same way.
      if (def.issuer) {
        const issuer = new URL(fillTemplate(def.issuer, values));
        assert.equal(issuer.protocol, 'https:');
        assert.equal(siteOf(issuer.host), siteOf(url.host), `${def.id}: issuer ${issuer.href} is not on ${url.host}'s domain`);
      }
      for (const u of [def.tokenUrl, def.revocationUrl, def.deviceAuthorizationUrl, def.parUrl, ...def.api.baseUrls]) {
        if (u !== undefined && !u.startsWith('{')) assert.match(fillTemplate(u, values), /^https:\/\//, `${def.id}: ${u}`);
      }
    });
  }

  for (const def of byStaticCredential) {
    const kind = def.credential === 'api_key' ? 'API key' : 'user name and password';
    test(`${def.id}: ${kind === "API key" ? "an" : "a"} ${kind} connection reaches ${def.name}'s API with the credential where the definition puts it`, async () => {
      assertSetup(def);
      assert.ok(def.api.baseUrls.length > 0, `${def.id}: no API base URL to call`);
      const { sent, values } = connectionValues(def);
      for (const u of def.api.baseUrls) assert.match(fillTemplate(u, values), /^https:\/\//, `${def.id}: ${u}`);
      // The definition as it is, with its https hosts moved under the local stand-in API.
      const local = fakeVariant(def.id, upstreamBase);
      if (!t.kw.services.catalog.get(local.id)) t.kw.services.catalog.add(local);
      const integration = await t.api('POST', '/v1/integrations', { provider: local.id });
      assert.equal(integration.status, 201, JSON.stringify(integration.body));

      const secret = `secret-${def.id}-0f9e8d7c6b5a`;
      const credential = def.credential === 'api_key' ? { type: 'api_key', apiKey: secret } : { type: 'basic', username: `user-${def.id}`, password: secret };
      const conn = await t.api('POST', '/v1/connections', { integration: integration.body.id, ...credential, ...(Object.keys(sent).length > 0 ? { params: sent } : {}) });
      assert.equal(conn.status, 201, JSON.stringify(conn.body));
      assert.equal(JSON.stringify(conn.body).includes(secret), false, 'the secret is never shown');

      const before = seen.length;
      const call = await fetch(`${t.kw.url}/v1/proxy/${conn.body.id}/keyway-breadth?page=2`, { headers: { authorization: `Bearer ${t.apiKey}` } });
      assert.equal(call.status, 200, await call.text());
      assert.equal(seen.length, before + 1);
      const got = seen[seen.length - 1]!;
      const gotUrl = new URL(got.url, upstreamBase);
      const base = new URL(fillTemplate(def.api.baseUrls[0]!, values));
      assert.equal(gotUrl.pathname, `/${base.host}${base.pathname.replace(/\/+$/, '')}/keyway-breadth`, `${def.id}: the first API base URL, filled`);
      assert.equal(gotUrl.searchParams.get('page'), '2');

      const inject = def.api.inject;
      if (def.credential === 'basic') {
        const header = (inject.in === 'header' ? inject.name : 'Authorization').toLowerCase();
        assert.equal(got.headers[header], `Basic ${Buffer.from(`user-${def.id}:${secret}`).toString('base64')}`, `${def.id}: RFC 7617 Basic credential`);
      } else if (inject.in === 'query') {
        assert.equal(gotUrl.searchParams.get(inject.name), secret, `${def.id}: API key in the query`);
        assert.equal(got.headers.authorization, undefined);
      } else {
        assert.equal(got.headers[inject.name.toLowerCase()], `${inject.prefix}${secret}`, `${def.id}: API key in ${inject.name}`);
        if (inject.name.toLowerCase() !== 'authorization') assert.equal(got.headers.authorization, undefined, `${def.id}: no stray Authorization header`);
      }
    });
  }
});
