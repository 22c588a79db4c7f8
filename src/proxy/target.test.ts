import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDefinition, resolveProvider } from '../catalog/index.ts';
import type { ConnectionRecord, IntegrationRecord } from '../store/index.ts';
import { ProxyTargets, pickBase } from './target.ts';

const zendesk = parseDefinition({
  id: 'zendesk-like', name: 'Zendesk-like', authorizationUrl: 'https://{subdomain}.zendesk.com/oauth/authorizations/new', tokenUrl: 'https://{subdomain}.zendesk.com/oauth/tokens',
  connectionParams: { subdomain: { label: 'Subdomain', pattern: '[a-z0-9-]+' } },
  api: { baseUrls: ['https://{subdomain}.zendesk.com/api/v2', 'https://{subdomain}.zendesk.com/api/lotus'] },
}, 'test');
const salesforce = parseDefinition({
  id: 'salesforce-like', name: 'Salesforce-like', authorizationUrl: 'https://login.salesforce.com/services/oauth2/authorize', tokenUrl: 'https://login.salesforce.com/services/oauth2/token',
  keep: { instance_url: { from: 'instance_url', urlHostSuffixes: ['.my.salesforce.com'] } },
  api: { baseUrls: ['{instance_url}/services/data'], inject: { in: 'header', name: 'Authorization', prefix: 'Bearer ' } },
}, 'test');

function targets(def: ReturnType<typeof parseDefinition>) {
  const rec = { id: 'int_1', orgId: 'org_1', provider: def.id, config: {} } as unknown as IntegrationRecord;
  return new ProxyTargets({
    integration: async () => rec,
    resolved: (_r, values) => resolveProvider(def, {}, values),
    checkUrl: (u) => new URL(u),
  });
}
const conn = (params: Record<string, string>, providerValues: Record<string, string>) =>
  ({ id: 'conn_1', orgId: 'org_1', integrationId: 'int_1', params, providerValues }) as unknown as ConnectionRecord;

test('connection values fill the API base URL (a Zendesk subdomain)', async () => {
  const t = await targets(zendesk).of(conn({ subdomain: 'acme' }, {}));
  assert.deepEqual(t.bases[0], { url: 'https://acme.zendesk.com/api/v2', origin: 'https://acme.zendesk.com', basePath: '/api/v2' });
  assert.equal(pickBase(t, 'https://acme.zendesk.com/api/lotus/').basePath, '/api/lotus');
  assert.throws(() => pickBase(t, 'https://evil.example/api'), /must be one of this provider's API base URLs/);
});

test('a value kept from the token response fills the base URL (Salesforce instance_url)', async () => {
  const t = await targets(salesforce).of(conn({}, { instance_url: 'https://acme.my.salesforce.com' }));
  assert.equal(t.bases[0]?.url, 'https://acme.my.salesforce.com/services/data');
  assert.deepEqual(t.inject, { in: 'header', name: 'Authorization', prefix: 'Bearer ' });
});

test('a connection missing a value its base URL needs is refused with what to do', async () => {
  await assert.rejects(targets(salesforce).of(conn({}, {})), /no value for \{instance_url\}.*reconnect/);
});
