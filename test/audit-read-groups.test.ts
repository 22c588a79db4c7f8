/**
 * Token reads are audited in groups: reads of one connection by one key within a second are one
 * entry whose detail counts them and gives each later read's time (`count`, `laterMs`), so a busy
 * caller does not add a row per read, and no read goes unrecorded. KEYWAY_AUDIT_GROUP_MS sets the
 * window; 0 gives every read an entry of its own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { openSqliteStore } from '../src/store/index.ts';
import { type TestKeyway, addIntegration, connectInBrowser, startProvider, startTestKeyway } from './helpers/keyway.ts';

interface Entry { action: string; at: string; actor: { type: string; id: string }; connection: string; detail: Record<string, unknown> }

async function connect(t: TestKeyway, provider: SandboxServer, integration: string, username: string): Promise<string> {
  const run = await connectInBrowser(t, provider, integration, { username, session: { externalId: username } });
  assert.match(run.page.text, /Connected!/, run.page.text);
  return (await t.api('GET', `/v1/connections?externalId=${username}`)).body.data[0].id;
}

async function reads(t: TestKeyway, connection: string): Promise<Entry[]> {
  const r = await t.api('GET', `/v1/audit?connection=${connection}&action=token.read&limit=100`);
  assert.equal(r.status, 200);
  return r.body.data;
}

describe('token reads audited in groups (default window, a second)', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let integration: string;
  before(async () => {
    provider = await startProvider();
    t = await startTestKeyway();
    integration = (await addIntegration(t, provider)).id;
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  test('reads of one connection by one key are one entry with their count and times; another key and another connection get their own', async () => {
    const a = await connect(t, provider, integration, 'group-a');
    const b = await connect(t, provider, integration, 'group-b');
    const second = await t.api('POST', '/v1/api-keys', { name: 'second reader', scope: { tokenRead: true } });
    assert.equal(second.status, 201);
    const read = async (id: string, key = t.apiKey) => assert.equal((await t.api('GET', `/v1/connections/${id}/token`, undefined, key)).status, 200);
    await read(a);
    t.clock.advance(120);
    await read(a);
    await read(b);
    t.clock.advance(250);
    await read(a);
    await read(a, second.body.key);
    const ofA = await reads(t, a);
    assert.equal(ofA.length, 2, JSON.stringify(ofA));
    const byFirstKey = ofA.find((e) => e.actor.id !== second.body.id)!;
    const bySecondKey = ofA.find((e) => e.actor.id === second.body.id)!;
    assert.equal(byFirstKey.detail['count'], 3);
    assert.deepEqual(byFirstKey.detail['laterMs'], [120, 370]);
    assert.equal(bySecondKey.actor.type, 'api_key');
    assert.equal(bySecondKey.detail['count'], undefined, 'one read: an entry as it always was');
    assert.equal(bySecondKey.detail['laterMs'], undefined);
    assert.equal(Date.parse(bySecondKey.at) - Date.parse(byFirstKey.at), 370);
    const ofB = await reads(t, b);
    assert.equal(ofB.length, 1);
    assert.equal(ofB[0]!.detail['count'], undefined);
  });

  test('a read after the entry was stored (a reader asked for the log) starts a new entry', async () => {
    const c = await connect(t, provider, integration, 'group-c');
    await t.api('GET', `/v1/connections/${c}/token`);
    await t.api('GET', `/v1/connections/${c}/token`);
    assert.equal((await reads(t, c)).length, 1, 'the two reads so far, in one entry');
    await t.api('GET', `/v1/connections/${c}/token`);
    const after = await reads(t, c);
    assert.deepEqual(after.map((e) => e.detail['count'] ?? 1), [1, 2], 'newest first: the third read, then the first two');
  });

  test('reads still gathering when Keyway stops are in the database after it has stopped', async () => {
    const own = await startTestKeyway();
    const ownProvider = await startProvider();
    try {
      const id = await connect(own, ownProvider, (await addIntegration(own, ownProvider)).id, 'at-stop');
      for (let i = 0; i < 5; i++) assert.equal((await own.api('GET', `/v1/connections/${id}/token`)).status, 200);
      await own.kw.close(); // within the second: the group is still open
      const store = openSqliteStore(join(own.dataDir, 'keyway.db'));
      try {
        const stored = await store.audit.query(own.kw.orgId, { connectionId: id, action: 'token.read' }, { limit: 10 });
        assert.equal(stored.data.length, 1);
        assert.equal(stored.data[0]!.detail['count'], 5);
      } finally {
        await store.close();
      }
    } finally {
      await own.close().catch(() => undefined);
      await ownProvider.close();
    }
  });
});

describe('token reads audited in groups: the window', () => {
  test('KEYWAY_AUDIT_GROUP_MS=0: every read is an entry of its own', async () => {
    const t = await startTestKeyway({ env: { KEYWAY_AUDIT_GROUP_MS: '0' } });
    const provider = await startProvider();
    try {
      const id = await connect(t, provider, (await addIntegration(t, provider)).id, 'one-each');
      for (let i = 0; i < 3; i++) await t.api('GET', `/v1/connections/${id}/token`);
      const got = await reads(t, id);
      assert.equal(got.length, 3);
      assert.ok(got.every((e) => e.detail['count'] === undefined));
    } finally {
      await t.close();
      await provider.close();
    }
  });

  test('a read once the window has passed starts a new entry, without anyone reading the log', async () => {
    // A window long enough that the first two reads fall in it on a busy machine (100 ms did not, in
    // one CI run), and a wait well past it.
    const t = await startTestKeyway({ env: { KEYWAY_AUDIT_GROUP_MS: '600' } });
    const provider = await startProvider();
    try {
      const id = await connect(t, provider, (await addIntegration(t, provider)).id, 'windowed');
      await t.api('GET', `/v1/connections/${id}/token`);
      await t.api('GET', `/v1/connections/${id}/token`);
      await new Promise((r) => setTimeout(r, 1500)); // the window (600 ms) closes the group on its own
      await t.api('GET', `/v1/connections/${id}/token`);
      const got = await reads(t, id);
      assert.deepEqual(got.map((e) => e.detail['count'] ?? 1), [1, 2]);
    } finally {
      await t.close();
      await provider.close();
    }
  });

  test('a window that is not a whole number of milliseconds from 0 to 60000 is refused with the setting named', async () => {
    await assert.rejects(startTestKeyway({ env: { KEYWAY_AUDIT_GROUP_MS: '2s' } }), /KEYWAY_AUDIT_GROUP_MS must be a whole number from 0 to 60000, got "2s"/);
    await assert.rejects(startTestKeyway({ env: { KEYWAY_AUDIT_GROUP_MS: '600000' } }), /KEYWAY_AUDIT_GROUP_MS must be a whole number from 0 to 60000/);
  });
});
