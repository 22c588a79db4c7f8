import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDefinition } from './load.ts';
import { canFill, fillTemplate, keptValues, userinfoRequest, validateConnectionParams } from './templates.ts';

const zendesk = parseDefinition({
  id: 'zd', name: 'Zendesk', authorizationUrl: 'https://{subdomain}.zendesk.com/oauth/authorizations/new', tokenUrl: 'https://{subdomain}.zendesk.com/oauth/tokens',
  connectionParams: { subdomain: { label: 'Zendesk subdomain', pattern: '[a-z0-9][a-z0-9-]{0,62}', example: 'acme' } },
  identity: { source: 'userinfo', url: 'https://{subdomain}.zendesk.com/api/v2/users/me', subject: 'user.id' },
}, 'zd.yaml');
const shopify = parseDefinition({
  id: 'shop', name: 'Shopify', authorizationUrl: 'https://{shop}.myshopify.com/admin/oauth/authorize', tokenUrl: 'https://{shop}.myshopify.com/admin/oauth/access_token',
  connectionParams: { shop: { label: 'shop', pattern: '[a-z0-9-]+' } },
  api: { baseUrls: ['https://{shop}.myshopify.com/admin/api'], inject: { in: 'header', name: 'X-Shopify-Access-Token', prefix: '' } },
  identity: { source: 'userinfo', url: 'https://{shop}.myshopify.com/admin/api/2025-01/shop.json', subject: 'shop.id' },
}, 'shop.yaml');

test('a subdomain is a subdomain: dots, slashes and unknown names are refused', () => {
  assert.deepEqual(validateConnectionParams(zendesk, { subdomain: 'acme' }), { subdomain: 'acme' });
  for (const bad of ['evil.com/x', 'a.b', 'acme.zendesk.com', 'a%2eb']) assert.throws(() => validateConnectionParams(zendesk, { subdomain: bad }), /"params\.subdomain" is not a valid Zendesk subdomain \(e\.g\. "acme"\)/);
  assert.throws(() => validateConnectionParams(zendesk, { subdomain: 'acme', tenant: 'x' }), /no connection param "tenant"/);
});

const anyTenant = parseDefinition({
  id: 'any', name: 'Any', authorizationUrl: 'https://x/a', tokenUrl: 'https://x/t',
  connectionParams: { tenant: { label: 'tenant', pattern: '.*', example: 'acme' } }, keep: { region: { from: 'region' } },
  api: { baseUrls: ['https://api.example/t/{tenant}/v1'] },
}, 'any.yaml');
const DOTS = ['.', '..', '...', '%2e', '.%2E', '%2e%2E'];

test('a connection value of only dots is refused when connecting, even where the pattern allows it: it would move the URL\'s path', () => {
  for (const dots of DOTS) {
    assert.throws(() => validateConnectionParams(anyTenant, { tenant: dots }), /"params\.tenant" cannot be only dots.*Give a valid tenant \(e\.g\. "acme"\)/, dots);
  }
  assert.deepEqual(validateConnectionParams(anyTenant, { tenant: 'a.b' }), { tenant: 'a.b' });
  for (const dots of DOTS) assert.throws(() => keptValues(anyTenant, { region: dots }), /Any sent a "region" of only dots; nothing was stored/, dots);
});

test('a stored connection value of only dots is refused where a URL is filled, saying to reconnect; other values stay in their segment', () => {
  for (const dots of DOTS) {
    assert.throws(() => fillTemplate('https://api.example/t/{tenant}/v1', { tenant: dots }), /This connection's "params\.tenant" is only dots.*Reconnect it with a valid "params\.tenant"/, dots);
    assert.throws(() => fillTemplate('https://api.example/{region}/v1', {}, { region: dots }), /This connection's "\{region\}" value is only dots.*Reconnect it/, dots);
  }
  assert.equal(new URL(fillTemplate('https://api.example/t/{tenant}/v1', { tenant: '../x/%2e' })).pathname, '/t/..%2Fx%2F%252e/v1');
});

test('an API base URL from a kept value can be filled only once that value is known', () => {
  assert.equal(canFill('{instance_url}/services', {}, {}), false);
  assert.equal(canFill('{instance_url}/services', {}, { instance_url: 'https://acme.my.salesforce.com' }), true);
  assert.equal(canFill('https://{shop}.myshopify.com', { shop: 'a' }), true);
});

test('a kept URL must be https on the definition\'s domains', () => {
  const def = parseDefinition({ id: 'sf', name: 'SF', authorizationUrl: 'https://x/a', tokenUrl: 'https://x/t', keep: { instance_url: { from: 'instance_url', urlHostSuffixes: ['.salesforce.com'] } } }, 'sf.yaml');
  assert.deepEqual(keptValues(def, { instance_url: 'https://acme.my.salesforce.com/' }), { instance_url: 'https://acme.my.salesforce.com' });
  for (const bad of ['https://evil.example', 'https://salesforce.com.evil.example', 'http://acme.my.salesforce.com', 'https://evilsalesforce.com']) {
    assert.throws(() => keptValues(def, { instance_url: bad }), /outside its domains/);
  }
});

test('the userinfo request fills the connection\'s values and injects the token as the API wants it', () => {
  const zd = userinfoRequest(zendesk, { params: { subdomain: 'acme' } }, 'tok');
  assert.equal(zd?.url.toString(), 'https://acme.zendesk.com/api/v2/users/me');
  assert.equal(zd?.headers.get('authorization'), 'Bearer tok');
  const shop = userinfoRequest(shopify, { params: { shop: 'acme-store' } }, 'shpat_1');
  assert.equal(shop?.url.toString(), 'https://acme-store.myshopify.com/admin/api/2025-01/shop.json');
  assert.equal(shop?.headers.get('x-shopify-access-token'), 'shpat_1');
  assert.equal(shop?.headers.get('authorization'), null);
});
