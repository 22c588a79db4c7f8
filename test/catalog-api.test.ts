import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILTIN_PROVIDERS_DIR, Catalog, loadDefinitionsFromDir, placeholdersOf } from '../src/catalog/index.ts';
import { KeywayError } from '../src/core/errors.ts';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';

const ISSUE_3_PROVIDERS = ['google', 'github', 'slack', 'box', 'xero', 'quickbooks', 'atlassian', 'zoom', 'salesforce', 'microsoft', 'dropbox', 'notion', 'hubspot', 'zendesk', 'shopify', 'zoho'];

describe('GET /v1/providers and /v1/providers/{id}', () => {
  let t: TestKeyway;
  before(async () => {
    t = await startTestKeyway();
  });
  after(async () => {
    await t?.close();
  });

  const ids = async (query: string): Promise<string[]> => {
    const res = await t.api('GET', `/v1/providers${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.nextCursor, null);
    return res.body.data.map((p: { id: string }) => p.id);
  };

  test('the catalog lists every built-in provider, sorted by name', async () => {
    const res = await t.api('GET', '/v1/providers');
    const all = res.body.data.map((p: { id: string }) => p.id) as string[];
    for (const id of [...ISSUE_3_PROVIDERS, 'custom', 'slack-user']) assert.ok(all.includes(id), id);
    const names = res.body.data.map((p: { name: string }) => p.name) as string[];
    assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b)));
  });

  test('search matches id, name or category, case-insensitively', async () => {
    assert.deepEqual(await ids('?search=micro'), ['microsoft']);
    assert.deepEqual(await ids('?search=SLACK'), ['slack', 'slack-user']);
    assert.deepEqual(await ids('?search=jira'), ['atlassian']);
    assert.deepEqual(await ids('?search=e-commerce'), ['shopify', 'woocommerce']);
    assert.deepEqual(await ids('?search=no-such-provider'), []);
  });

  test('category filters to that exact category, and combines with search', async () => {
    assert.deepEqual(await ids('?category=accounting'), ['freshbooks', 'quickbooks', 'sage', 'xero', 'zoho']);
    assert.deepEqual(await ids('?category=crm&search=sales'), ['salesforce']);
    assert.deepEqual(await ids('?category=account'), []);
    const bad = await t.api('GET', '/v1/providers?colour=blue');
    assert.equal(bad.status, 400);
  });

  test('one provider shows its connection params, scopes, refresh, auth params and notes', async () => {
    const zendesk = await t.api('GET', '/v1/providers/zendesk');
    assert.equal(zendesk.status, 200);
    assert.deepEqual(zendesk.body.connectionParams, [{ name: 'subdomain', label: 'Zendesk subdomain', pattern: '[a-z0-9][a-z0-9-]{0,62}', example: 'acme', default: null, help: 'The "acme" in acme.zendesk.com.' }]);
    assert.deepEqual(zendesk.body.apiBaseUrls, ['https://{subdomain}.zendesk.com/api/v2']);
    const google = (await t.api('GET', '/v1/providers/google')).body;
    assert.deepEqual(google.authParams, { access_type: 'offline', prompt: 'consent' });
    assert.equal(google.pkce, true);
    assert.ok(google.notes.some((n: string) => /refresh token/.test(n)));
    const xero = (await t.api('GET', '/v1/providers/xero')).body;
    assert.equal(xero.refresh, 'rotating');
    assert.equal(xero.refreshTokenLifetimeDays, 60);
    const slack = (await t.api('GET', '/v1/providers/slack')).body;
    assert.equal(slack.scopes.separator, ',');
    assert.equal(slack.quirks, 'slack');
    const shopify = (await t.api('GET', '/v1/providers/shopify')).body;
    assert.deepEqual(shopify.apiInject, { in: 'header', name: 'X-Shopify-Access-Token', prefix: '' });
    assert.deepEqual(shopify.connectionParams.map((p: { name: string }) => p.name), ['shop']);
    const hubspot = (await t.api('GET', '/v1/providers/hubspot')).body;
    assert.equal(hubspot.clientAuth, 'client_secret_post');
    const missing = await t.api('GET', '/v1/providers/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('keyway-error'), 'not_found');
  });
});

describe('built-in definitions are complete and consistent', () => {
  const defs = loadDefinitionsFromDir(BUILTIN_PROVIDERS_DIR);
  const byId = new Map(defs.map((d) => [d.id, d]));

  test('every provider issue 3 names is defined with docs, setup steps, categories and https endpoints', () => {
    for (const id of ISSUE_3_PROVIDERS) {
      const d = byId.get(id);
      assert.ok(d, id);
      assert.match(d.docs ?? '', /^https:\/\//, `${id} docs`);
      assert.ok((d.setup ?? '').length > 40, `${id} setup`);
      assert.ok(d.categories.length > 0, `${id} categories`);
      assert.ok(d.logo === null || d.logo === undefined || d.logo.startsWith('https://'), `${id} logo`);
      for (const u of [d.authorizationUrl, d.tokenUrl, d.revocationUrl, d.deviceAuthorizationUrl, d.issuer]) {
        if (u !== undefined) assert.match(u, /^https:\/\//, `${id}: ${u}`);
      }
      assert.ok(d.identity, `${id} says how to identify the account`);
      assert.ok(d.pkce.enabled || d.pkce.reason.length > 0, `${id} pkce`);
    }
  });

  test('every URL placeholder is a connection param (or, in API base URLs and userinfo, a kept value)', () => {
    for (const d of defs) {
      const params = Object.keys(d.connectionParams);
      for (const u of [d.issuer, d.authorizationUrl, d.tokenUrl, d.revocationUrl, d.deviceAuthorizationUrl, d.parUrl]) {
        for (const name of placeholdersOf(u ?? '')) assert.ok(params.includes(name), `${d.id}: {${name}} in ${u}`);
      }
      for (const u of [...d.api.baseUrls, d.identity?.url ?? '']) {
        for (const name of placeholdersOf(u)) assert.ok(params.includes(name) || Object.hasOwn(d.keep, name), `${d.id}: {${name}} in ${u}`);
      }
      for (const [name, p] of Object.entries(d.connectionParams)) {
        if (p.example) assert.match(p.example, new RegExp(`^(?:${p.pattern})$`), `${d.id}: example of ${name}`);
        if (p.default) assert.match(p.default, new RegExp(`^(?:${p.pattern})$`), `${d.id}: default of ${name}`);
      }
      for (const [name, k] of Object.entries(d.keep)) {
        if (d.api.baseUrls.some((u) => u.startsWith(`{${name}}`))) assert.ok(k.urlHostSuffixes?.length, `${d.id}: {${name}} as an API host needs urlHostSuffixes`);
      }
    }
  });
});

describe('a broken definition stops start-up, naming the file, the provider and the field', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyway-catalog-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const loadOnly = (file: string, yaml: string): KeywayError => {
    rmSync(dir, { recursive: true, force: true });
    dir = mkdtempSync(join(tmpdir(), 'keyway-catalog-'));
    writeFileSync(join(dir, file), yaml);
    try {
      loadDefinitionsFromDir(dir);
    } catch (e) {
      assert.ok(e instanceof KeywayError, String(e));
      assert.equal(e.code, 'catalog_invalid');
      return e;
    }
    assert.fail('the catalog loaded');
  };
  const base = 'id: acme\nname: Acme\nauthorizationUrl: https://acme.example/authorize\ntokenUrl: https://acme.example/token\n';

  test('a wrong nested value names its path', () => {
    const e = loadOnly('acme.yaml', `${base}refresh:\n  kind: sometimes\n`);
    assert.match(e.message, /acme\.yaml: provider "acme": field "refresh\.kind"/);
  });

  test('an unknown field is refused', () => {
    const e = loadOnly('acme.yaml', `${base}scopes:\n  default: [a]\n  seperator: ","\n`);
    assert.match(e.message, /acme\.yaml: provider "acme": field "scopes"/);
    assert.match(e.message, /seperator/);
  });

  test('PKCE turned off without a reason is refused', () => {
    const e = loadOnly('acme.yaml', `${base}pkce:\n  enabled: false\n`);
    assert.match(e.message, /provider "acme": field "pkce/);
  });

  test('a kept value whose pattern is not a regular expression is refused', () => {
    const e = loadOnly('acme.yaml', `${base}keep:\n  company:\n    in: callback\n    from: companyId\n    pattern: "[0-9"\n`);
    assert.match(e.message, /acme\.yaml: provider "acme": field "keep\.company\.pattern"/);
    assert.match(e.message, /must be a valid regular expression/);
  });

  test('a missing token URL is refused', () => {
    const e = loadOnly('acme.yaml', 'id: acme\nname: Acme\nauthorizationUrl: https://acme.example/authorize\n');
    assert.match(e.message, /acme\.yaml: provider "acme": field "tokenUrl" is required/);
  });

  test('an unknown quirk module is refused', () => {
    const e = loadOnly('acme.yaml', `${base}quirks: nope\n`);
    assert.match(e.message, /acme\.yaml: provider "acme": field "quirks"/);
  });

  test('YAML that does not parse names the file', () => {
    const e = loadOnly('broken.yaml', 'id: [unclosed\n');
    assert.match(e.message, /broken\.yaml: not valid YAML/);
  });

  test('the same id twice is refused', () => {
    const defs = loadDefinitionsFromDir(BUILTIN_PROVIDERS_DIR);
    assert.throws(() => new Catalog([...defs, ...defs.slice(0, 1)]), /provider "[a-z-]+" is defined twice/);
  });
});
