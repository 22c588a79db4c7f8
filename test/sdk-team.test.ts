/**
 * The SDK's organization groups against a real Keyway: who is calling, members and their roles,
 * invites, and webhooks with their delivery log (a receiver on 127.0.0.1).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { Keyway, KeywayApiError } from 'keyway/sdk';
import { parseDefinition } from '../src/catalog/index.ts';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { followLink } from './helpers/teams.ts';

let t: TestKeyway;
let keyway: Keyway;
let integration: string;
const received: string[] = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(204).end();
  });
});

before(async () => {
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t = await startTestKeyway({
    extraDefinitions: [parseDefinition({ id: 'team-local', name: 'Team API', grants: [], credential: 'api_key', api: { baseUrls: ['http://127.0.0.1:9/api'] } }, 'test')],
  });
  keyway = new Keyway({ url: t.kw.url, apiKey: t.apiKey });
  integration = (await t.api('POST', '/v1/integrations', { provider: 'team-local' })).body.id;
});
after(async () => {
  await t.close();
  await new Promise<void>((r) => receiver.close(() => r()));
});

test('providers: the catalog, searched and by id; an unknown id says where the list is', async () => {
  const found = await keyway.providers.list({ search: 'github' });
  assert.ok(found.data.some((p) => p.id === 'github'), JSON.stringify(found.data.map((p) => p.id)));
  const github = await keyway.providers.get('github');
  assert.equal(github.credential, 'oauth2');
  assert.ok(github.apiBaseUrls.some((u) => u.startsWith('https://api.github.com')));
  const all = await keyway.providers.list();
  assert.ok(all.data.length > found.data.length);
  const missing = await keyway.providers.get('nope').catch((e: unknown) => e);
  assert.ok(missing instanceof KeywayApiError);
  assert.match(missing.message, /GET \/v1\/providers lists them/);
});

test('integrations: add, rename and rotate the secret, refused deletion while connected, forced deletion', async () => {
  const made = await keyway.integrations.create({ provider: 'team-local', name: 'Team API (2)' });
  assert.equal(made.provider, 'team-local');
  assert.equal(made.redirectUri, `${t.kw.url}/oauth/callback/${made.id}`);
  const renamed = await keyway.integrations.update(made.id, { name: 'Team API, renamed' });
  assert.equal(renamed.name, 'Team API, renamed');
  await keyway.connections.create({ integration: made.id, type: 'api_key', apiKey: 'k' });
  const refused = await keyway.integrations.delete(made.id).catch((e: unknown) => e);
  assert.ok(refused instanceof KeywayApiError);
  assert.equal(refused.status, 409);
  assert.match(refused.message, /force=true/);
  await keyway.integrations.delete(made.id, { force: true });
  const gone = await keyway.integrations.get(made.id).catch((e: unknown) => e);
  assert.ok(gone instanceof KeywayApiError);
  assert.equal(gone.code, 'not_found');
  assert.equal((await keyway.connections.list({ integration: made.id })).data.length, 0);
});

test('me(): the key\'s member, role and organization', async () => {
  const me = await keyway.me();
  assert.equal(me.via, 'api_key');
  assert.equal(me.role, 'owner');
  assert.equal(me.member.email, 'admin@localhost');
  assert.match(me.org.id, /^org_/);
  assert.equal(me.session, null);
});

test('invites and members: invite, the person joins, change their role, remove them; the last owner stays one', async () => {
  const invite = await keyway.invites.create({ email: 'nia@example.test', role: 'member' });
  assert.equal(invite.status, 'pending');
  assert.ok(invite.inviteUrl.startsWith(t.kw.url));
  assert.ok((await keyway.invites.list()).data.some((i) => i.id === invite.id));
  assert.ok(!JSON.stringify(await keyway.invites.list()).includes(invite.inviteUrl), 'the link is shown once');
  const joined = await followLink(t, invite.inviteUrl);
  const nia = await keyway.members.get(joined.memberId);
  assert.equal(nia.email, 'nia@example.test');
  assert.equal(nia.role, 'member');
  assert.equal((await keyway.members.setRole(nia.id, 'admin')).role, 'admin');
  assert.ok((await keyway.members.list()).data.some((m) => m.id === nia.id && m.role === 'admin'));
  await keyway.members.remove(nia.id);
  assert.notEqual((await keyway.members.get(nia.id)).removedAt, null);
  const withdrawn = await keyway.invites.create({ email: 'omar@example.test' });
  await keyway.invites.revoke(withdrawn.id);
  assert.ok(!(await keyway.invites.list()).data.some((i) => i.id === withdrawn.id));
  const self = await keyway.members.setRole((await keyway.me()).member.id, 'member').catch((e: unknown) => e);
  assert.ok(self instanceof KeywayApiError);
  assert.equal(self.status, 409);
  assert.match(self.message, /needs at least one owner: make another member an owner first/);
});

test('webhooks: register (the secret shown once), a connection change is delivered and logged, resend, remove', async () => {
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const endpoint = await keyway.webhooks.create({ url, events: ['connection.created'], description: 'sdk' });
  assert.match(endpoint.secret, /\S{20,}/);
  assert.deepEqual(endpoint.events, ['connection.created']);
  assert.ok(!JSON.stringify(await keyway.webhooks.list()).includes(endpoint.secret));
  const conn = await keyway.connections.create({ integration, type: 'api_key', apiKey: 'provider-key' });
  for (let i = 0; i < 200 && received.length === 0; i++) await sleep(25);
  assert.equal(received.length, 1);
  assert.equal((JSON.parse(received[0] ?? '{}') as { data?: { connection?: { id?: string } } }).data?.connection?.id, conn.id);
  let log = await keyway.webhooks.deliveries(endpoint.id);
  for (let i = 0; i < 200 && log.data[0]?.status !== 'delivered'; i++) {
    await sleep(25);
    log = await keyway.webhooks.deliveries(endpoint.id);
  }
  const first = log.data[0];
  assert.equal(first?.status, 'delivered');
  assert.equal(first?.type, 'connection.created');
  const again = await keyway.webhooks.resend(endpoint.id, first?.id ?? '');
  assert.equal(again.id, first?.id);
  for (let i = 0; i < 200 && received.length < 2; i++) await sleep(25);
  assert.equal(received.length, 2);
  const every: string[] = [];
  for await (const d of keyway.webhooks.allDeliveries(endpoint.id)) every.push(d.id);
  assert.deepEqual(every, [first?.id]);
  await keyway.webhooks.delete(endpoint.id);
  assert.deepEqual((await keyway.webhooks.list()).data.filter((e) => e.id === endpoint.id), []);
  const bad = await keyway.webhooks.create({ url: 'ftp://example.com/hook' }).catch((e: unknown) => e);
  assert.ok(bad instanceof KeywayApiError);
  assert.equal(bad.code, 'outbound_url_refused');
});
