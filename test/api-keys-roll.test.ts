/**
 * Rolling an API key: a new key that replaces an old one, the old one ending at once or after a
 * grace period; through the API, the SDK and the CLI against a running server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Keyway, KeywayApiError } from 'keyway/sdk';
import { parseDefinition } from '../src/catalog/index.ts';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { invitePerson } from './helpers/teams.ts';
import { CLI, type SpawnedKeyway, type Upstream, spawnKeyway, startUpstream } from './helpers/upstream.ts';

const run = promisify(execFile);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

describe('API keys: roll', () => {
  let t: TestKeyway;
  let upstream: Upstream;
  let conn: string;
  before(async () => {
    upstream = await startUpstream();
    t = await startTestKeyway({
      extraDefinitions: [parseDefinition({ id: 'roll-local', name: 'Roll API', grants: [], credential: 'api_key', api: { baseUrls: [upstream.url] } }, 'test')],
    });
    const integ = await t.api('POST', '/v1/integrations', { provider: 'roll-local' });
    conn = (await t.api('POST', '/v1/connections', { integration: integ.body.id, type: 'api_key', apiKey: 'provider-key-1' })).body.id;
  });
  after(async () => {
    await t.close();
    await upstream.close();
  });
  const proxy = async (key: string): Promise<number> => (await fetch(`${t.kw.url}/v1/proxy/${conn}/ping`, { headers: { authorization: `Bearer ${key}` } })).status;
  const make = async (body: Record<string, unknown>) => {
    const res = await t.api('POST', '/v1/api-keys', body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string; key: string };
  };

  test('without a grace period: the new key works at once with the same name, scope and rate limit; the old one is refused at once', async () => {
    const old = await make({ name: 'worker', scope: { connections: [conn] }, rateLimitPerMinute: 600 });
    assert.equal(await proxy(old.key), 200); // in use, so in the server's memory
    const rolled = await t.api('POST', `/v1/api-keys/${old.id}/roll`, {});
    assert.equal(rolled.status, 201, JSON.stringify(rolled.body));
    const r = rolled.body;
    assert.match(r.key, /^kw_/);
    assert.notEqual(r.id, old.id);
    assert.equal(r.name, 'worker');
    assert.deepEqual(r.scope, { integrations: [], connections: [conn], tokenRead: false, manage: false });
    assert.equal(r.rateLimitPerMinute, 600);
    assert.equal(r.expiresAt, null);
    assert.deepEqual(r.previous, { id: old.id, endsAt: new Date(t.clock.now()).toISOString() });
    assert.equal(await proxy(r.key), 200);
    assert.equal(await proxy(old.key), 401);
    assert.ok((await t.api('GET', `/v1/api-keys/${old.id}`)).body.revokedAt !== null);
    const audit = await t.api('GET', '/v1/audit?action=api_key.roll');
    const entry = audit.body.data.find((e: { detail: { key: string } }) => e.detail.key === old.id);
    assert.deepEqual({ ...entry?.detail, member: undefined }, { key: old.id, newKey: r.id, oldKeyEndsAt: r.previous.endsAt, member: undefined });
    assert.equal((await t.api('GET', `/v1/api-keys/${old.id}`)).body.replacedBy, r.id);
    assert.equal(r.replacedBy, null);
    assert.ok(!JSON.stringify(audit.body).includes(r.key) && !JSON.stringify(audit.body).includes(old.key));
  });

  test('with graceMinutes: the old key keeps working until then, both at once, and is refused from that moment saying it expired', async () => {
    const old = await make({ name: 'deploy' });
    assert.equal(await proxy(old.key), 200);
    const rolled = await t.api('POST', `/v1/api-keys/${old.id}/roll`, { graceMinutes: 30 });
    assert.equal(rolled.status, 201, JSON.stringify(rolled.body));
    const endsAt = new Date(t.clock.now() + 30 * MINUTE).toISOString();
    assert.equal(rolled.body.previous.endsAt, endsAt);
    assert.equal((await t.api('GET', `/v1/api-keys/${old.id}`)).body.expiresAt, endsAt);
    assert.equal(await proxy(old.key), 200);
    assert.equal(await proxy(rolled.body.key), 200);
    t.clock.advance(30 * MINUTE - 1);
    assert.equal(await proxy(old.key), 200, 'a millisecond before the end');
    t.clock.advance(1);
    const refused = await fetch(`${t.kw.url}/v1/proxy/${conn}/ping`, { headers: { authorization: `Bearer ${old.key}` } });
    assert.equal(refused.status, 401);
    assert.match(((await refused.json()) as { error: { message: string } }).error.message, new RegExp(`expired at ${endsAt.replace(/[.]/g, '\\.')}`));
    assert.equal(await proxy(rolled.body.key), 200);
  });

  test('a key that expires: the new one gets the same lifetime from now; the old one never outlives its own expiry', async () => {
    const old = await make({ name: 'quarterly', expiresInDays: 90 });
    t.clock.advance(80 * DAY);
    const rolled = await t.api('POST', `/v1/api-keys/${old.id}/roll`, { graceMinutes: 7 * 24 * 60 });
    assert.equal(rolled.status, 201, JSON.stringify(rolled.body));
    assert.equal(rolled.body.expiresAt, new Date(t.clock.now() + 90 * DAY).toISOString());
    assert.equal(rolled.body.previous.endsAt, new Date(t.clock.now() + 7 * DAY).toISOString(), 'a week of grace, inside its 10 days left');
    const late = await make({ name: 'almost over', expiresInDays: 1 });
    t.clock.advance(DAY - 10 * MINUTE);
    const short = await t.api('POST', `/v1/api-keys/${late.id}/roll`, { graceMinutes: 60 });
    assert.equal(short.status, 201);
    assert.equal(short.body.previous.endsAt, new Date(t.clock.now() + 10 * MINUTE).toISOString(), 'its own expiry, 10 minutes away, comes first');
  });

  test('only a key that still works and was not rolled before can be rolled, and of two rolls at once one wins: 409 conflict saying what to do', async () => {
    const old = await make({ name: 'twice' });
    const [a, b] = await Promise.all([
      t.api('POST', `/v1/api-keys/${old.id}/roll`, { graceMinutes: 5 }),
      t.api('POST', `/v1/api-keys/${old.id}/roll`, { graceMinutes: 5 }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [201, 409]);
    const lost = a.status === 409 ? a : b;
    assert.equal(lost.body.error.code, 'conflict');
    // Read before the winner wrote: "meanwhile"; read after: "already rolled".
    assert.match(lost.body.error.message, /was rolled or revoked meanwhile|was already rolled into key_/);
    const keys = (await t.api('GET', '/v1/api-keys?limit=200')).body.data as Array<{ id: string; name: string; replacedBy: string | null }>;
    const twice = keys.filter((k) => k.name === 'twice');
    assert.equal(twice.length, 2, 'the old key and one new one');
    const won = (a.status === 201 ? a : b).body.id;
    assert.equal(twice.find((k) => k.id === old.id)?.replacedBy, won);
    const again = await t.api('POST', `/v1/api-keys/${old.id}/roll`, { graceMinutes: 5 });
    assert.equal(again.status, 409, 'still working in its grace period, but already rolled');
    assert.equal(again.body.error.message, `API key ${old.id} was already rolled into ${won}; roll that one instead.`);
    const gone = await make({ name: 'revoked' });
    assert.equal((await t.api('DELETE', `/v1/api-keys/${gone.id}`)).status, 204);
    const refused = await t.api('POST', `/v1/api-keys/${gone.id}/roll`, {});
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /is revoked, so there is nothing to roll; create a new key instead/);
  });

  test('refused: a grace period out of range, an unknown key, a use-only key, and another member\'s key (an admin may revoke it, not hold its successor)', async () => {
    const old = await make({ name: 'checked' });
    for (const graceMinutes of [-1, 10_081, 1.5, '30']) {
      const res = await t.api('POST', `/v1/api-keys/${old.id}/roll`, { graceMinutes });
      assert.equal(res.status, 400, String(graceMinutes));
      assert.match(JSON.stringify(res.body.error), /graceMinutes/);
    }
    assert.equal((await t.api('POST', '/v1/api-keys/key_nope/roll', {})).status, 404);
    const useOnly = await make({ name: 'use only' });
    const selfRoll = await t.api('POST', `/v1/api-keys/${useOnly.id}/roll`, {}, useOnly.key);
    assert.equal(selfRoll.status, 403);
    const member = await invitePerson(t, t.apiKey, 'roll-member@example.test');
    const theirs = await t.api('POST', '/v1/api-keys', { name: 'theirs' }, member.key);
    assert.equal(theirs.status, 201);
    const byAdmin = await t.api('POST', `/v1/api-keys/${theirs.body.id}/roll`, {});
    assert.equal(byAdmin.status, 403);
    assert.match(byAdmin.body.error.message, /belongs to another member; only they may roll it/);
    assert.equal((await t.api('GET', '/v1/providers', undefined, theirs.body.key)).status, 200, 'a refused roll leaves the key working');
    const byThem = await t.api('POST', `/v1/api-keys/${theirs.body.id}/roll`, {}, member.key);
    assert.equal(byThem.status, 201);
    assert.equal(byThem.body.member, member.memberId);
  });

  test('the SDK: apiKeys.roll, and the app moves to the new key during the grace period', async () => {
    const keyway = new Keyway({ url: t.kw.url, apiKey: t.apiKey });
    const made = await keyway.apiKeys.create({ name: 'sdk roll' });
    const rolled = await keyway.apiKeys.roll(made.id, { graceMinutes: 10 });
    assert.equal(rolled.previous.id, made.id);
    const oldApp = new Keyway({ url: t.kw.url, apiKey: made.key });
    const newApp = new Keyway({ url: t.kw.url, apiKey: rolled.key });
    assert.equal((await oldApp.proxy(conn, 'ping')).status, 200);
    assert.equal((await newApp.proxy(conn, 'ping')).status, 200);
    const again = await keyway.apiKeys.roll(made.id, { graceMinutes: 10 }).catch((e: unknown) => e);
    assert.ok(again instanceof KeywayApiError);
    assert.equal(again.code, 'conflict');
  });
});

describe('API keys: roll from the CLI while a server runs', { timeout: 90_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyway-roll-'));
  let kw: SpawnedKeyway;
  before(async () => { kw = await spawnKeyway(dataDir); });
  after(async () => {
    await kw?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('`keys roll` prints the new key once; the server takes it at once and refuses the old one within a second', async () => {
    const created = await kw.api('POST', '/v1/api-keys', { name: 'rolled from the CLI', expiresInDays: 30 });
    assert.equal(created.status, 201);
    const { key, id } = created.body;
    for (let i = 0; i < 3; i++) assert.equal((await kw.api('GET', '/v1/providers', undefined, key)).status, 200);
    const out = await run(process.execPath, [CLI, 'keys', 'roll', id, '--data-dir', dataDir]);
    const fresh = out.stdout.trim();
    assert.match(fresh, /^kw_\S+$/);
    assert.match(out.stderr, new RegExp(`Rolled API key ${id} \\("rolled from the CLI"\\) into key_\\S+, shown only this once\\. It expires at \\S+\\. The old key is revoked`));
    assert.equal((await kw.api('GET', '/v1/providers', undefined, fresh)).status, 200);
    await sleep(1000);
    assert.equal((await kw.api('GET', '/v1/providers', undefined, key)).status, 401);
    const successor = (await kw.api('GET', `/v1/api-keys/${id}`)).body.replacedBy as string;
    assert.match(successor, /^key_/);
    const listed = (await run(process.execPath, [CLI, 'keys', 'list', '--data-dir', dataDir])).stdout.split('\n');
    assert.match(listed.find((l) => l.startsWith(`${id} `)) ?? '', new RegExp(`rolled from the CLI.*\\s${successor}$`), 'the old key names the key it was rolled into');
    assert.match(listed.find((l) => l.startsWith(`${successor} `)) ?? '', /\s-$/, 'the new key is replaced by none');
    const graced = await run(process.execPath, [CLI, 'keys', 'roll', successor, '--grace-minutes', '60', '--data-dir', dataDir]);
    assert.match(graced.stderr, /The old key keeps working until \S+Z\./);
    assert.equal((await kw.api('GET', '/v1/providers', undefined, fresh)).status, 200, 'still working in its grace period');
    for (const bad of ['-1', 'soon', '10081']) {
      await assert.rejects(run(process.execPath, [CLI, 'keys', 'roll', id, '--grace-minutes', bad, '--data-dir', dataDir]),
        (e: { stderr: string }) => /--grace-minutes must be a whole number of minutes from 0 to 10080/.test(e.stderr));
    }
    await assert.rejects(run(process.execPath, [CLI, 'keys', 'roll', id, '--data-dir', dataDir]), (e: { stderr: string }) => /is revoked, so there is nothing to roll/.test(e.stderr));
    await assert.rejects(run(process.execPath, [CLI, 'keys', 'roll', 'key_nope', '--data-dir', dataDir]), (e: { stderr: string }) => /No API key key_nope/.test(e.stderr));
  });
});
