/**
 * The store contract: what every service relies on, run against every store implementation
 * (STYLE.md point 8). Add an implementation with one more `storeContract(name, open)` call.
 *
 * `open` must return a store over an empty, not yet migrated database; each test opens its own and
 * the suite closes it.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { type ConnectionRecord, type Store, connectionStamp } from '../../src/store/index.ts';
import {
  INT_A, INT_A2, INT_B, MEMBER_A, MEMBER_B, ORG_A, ORG_B, T0, apiKey, auditEntry, brokenAuditEntry, connectAttempt,
  connectSession, connection, ids, integration, seed, withoutSeq,
} from './store-fixtures.ts';
import { concurrencyContract } from './store-contract-concurrency.ts';
import { teamsContract } from './store-contract-teams.ts';

const LEASE_MS = 30_000;

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`${name} store contract`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await store.migrate(T0);
      await seed(store);
    });
    afterEach(() => store.close());
    const s = (): Store => store;

    test('migrating a new database applies every migration, and migrating again applies none and keeps the data', async () => {
      const fresh = await open();
      try {
        const first = await fresh.migrate(T0);
        assert.ok(first.includes(1), `first migrate applied ${JSON.stringify(first)}`);
        await fresh.orgs.insert({ id: 'org_x', name: 'X', createdAt: T0 });
        assert.deepEqual(await fresh.migrate(T0 + 1), []);
        assert.deepEqual(await fresh.migrate(T0 + 2), []);
        assert.deepEqual(await fresh.orgs.get('org_x'), { id: 'org_x', name: 'X', createdAt: T0 });
      } finally {
        await fresh.close();
      }
    });

    test('the store reports which kind it is', () => {
      assert.ok(s().kind === 'sqlite' || s().kind === 'postgres');
    });

    describe('organizations, members and API keys', () => {
      test('organizations and members read back as inserted, members listed per organization', async () => {
        assert.deepEqual(await s().orgs.get(ORG_A), { id: ORG_A, name: 'Org A', createdAt: T0 });
        assert.equal(await s().orgs.get('org_none'), null);
        assert.deepEqual(ids(await s().orgs.list()), [ORG_A, ORG_B]);
        await s().members.insert({ id: 'mem_a2', orgId: ORG_A, email: 'c@example.test', name: 'Cy', role: 'member', createdAt: T0 + 5 });
        assert.deepEqual(ids(await s().members.list(ORG_A)), [MEMBER_A, 'mem_a2']);
        assert.deepEqual(await s().members.get(ORG_A, 'mem_a2'),
          { id: 'mem_a2', orgId: ORG_A, email: 'c@example.test', name: 'Cy', role: 'member', createdAt: T0 + 5, removedAt: null, oidcIssuer: null, oidcSubject: null });
        assert.equal(await s().members.get(ORG_B, 'mem_a2'), null, 'a member is not visible from another organization');
      });

      test('an API key is found by its hash with its scope intact; an unknown hash finds nothing', async () => {
        const key = apiKey('key_1');
        await s().apiKeys.insert(key);
        assert.deepEqual(await s().apiKeys.findByHash('hash_key_1'), key);
        assert.equal(await s().apiKeys.findByHash('hash_unknown'), null);
        await assert.rejects(s().apiKeys.insert(apiKey('key_2', { hash: 'hash_key_1' })), 'two keys cannot share a hash');
        const expiring = apiKey('key_3', { expiresAt: T0 + 90 * 86_400_000 });
        await s().apiKeys.insert(expiring);
        assert.deepEqual(await s().apiKeys.findByHash('hash_key_3'), expiring, 'its expiry comes back as stored');
      });

      test('API keys list newest first per organization, and touch records the last use', async () => {
        await s().apiKeys.insert(apiKey('key_1', { createdAt: T0 }));
        await s().apiKeys.insert(apiKey('key_2', { createdAt: T0 + 10 }));
        await s().apiKeys.insert(apiKey('key_3', { orgId: ORG_B, memberId: MEMBER_B, createdAt: T0 + 20 }));
        assert.deepEqual(ids(await s().apiKeys.list(ORG_A)), ['key_2', 'key_1']);
        assert.equal(await s().apiKeys.touch('key_1', T0 + 99), 1);
        assert.equal((await s().apiKeys.get(ORG_A, 'key_1'))?.lastUsedAt, T0 + 99);
      });

      test('revoking an API key succeeds once; revoking again changes nothing and keeps the first revokedAt', async () => {
        await s().apiKeys.insert(apiKey('key_1'));
        assert.equal(await s().apiKeys.revoke(ORG_A, 'key_1', T0 + 100), 1);
        assert.equal(await s().apiKeys.revoke(ORG_A, 'key_1', T0 + 200), 0);
        assert.equal((await s().apiKeys.findByHash('hash_key_1'))?.revokedAt, T0 + 100, 'a revoked key stays findable, marked revoked');
      });

      test('rolling an API key: its end and its successor are written together, once; a second roll, a revoked key or another organization write nothing', async () => {
        await s().apiKeys.insert(apiKey('key_1'));
        const next = apiKey('key_next', { hash: 'hash_key_next', createdAt: T0 + 50 });
        assert.equal(await s().apiKeys.roll(ORG_B, 'key_1', next, { expiresAt: T0 + 600 }), 'key_ended', 'not through another organization');
        assert.equal(await s().apiKeys.get(ORG_A, 'key_next'), null);
        assert.equal(await s().apiKeys.roll(ORG_A, 'key_1', next, { expiresAt: T0 + 600 }), 'rolled');
        assert.deepEqual(await s().apiKeys.get(ORG_A, 'key_1'), apiKey('key_1', { expiresAt: T0 + 600, replacedBy: 'key_next' }));
        assert.deepEqual(await s().apiKeys.findByHash('hash_key_next'), next);
        const other = apiKey('key_other', { hash: 'hash_key_other' });
        assert.equal(await s().apiKeys.roll(ORG_A, 'key_1', other, { revokedAt: T0 + 700 }), 'key_ended', 'rolled once already');
        assert.equal(await s().apiKeys.get(ORG_A, 'key_other'), null, 'the losing successor is not stored');
        assert.equal((await s().apiKeys.get(ORG_A, 'key_1'))?.revokedAt, null);
        await s().apiKeys.insert(apiKey('key_2', { hash: 'hash_key_2', revokedAt: T0 + 5 }));
        assert.equal(await s().apiKeys.roll(ORG_A, 'key_2', other, { revokedAt: T0 + 700 }), 'key_ended', 'a revoked key');
        assert.equal(await s().apiKeys.get(ORG_A, 'key_other'), null);
        await s().apiKeys.insert(apiKey('key_3', { hash: 'hash_key_3' }));
        assert.equal(await s().apiKeys.roll(ORG_A, 'key_3', other, { revokedAt: T0 + 700 }), 'rolled');
        assert.deepEqual(await s().apiKeys.get(ORG_A, 'key_3'), apiKey('key_3', { hash: 'hash_key_3', revokedAt: T0 + 700, replacedBy: 'key_other' }));
      });

      test('a key is added, or rolled into, only for a current member: once the member is removed nothing is written', async () => {
        await s().members.insert({ id: 'mem_gone', orgId: ORG_A, email: 'g@example.test', name: 'Gil', role: 'member', createdAt: T0 });
        await s().apiKeys.insert(apiKey('key_old', { memberId: 'mem_gone' }));
        assert.equal(await s().apiKeys.insertForMember(apiKey('key_1', { memberId: 'mem_gone' })), true);
        assert.notEqual(await s().members.remove(ORG_A, 'mem_gone', T0 + 10), 'missing');
        assert.equal(await s().apiKeys.insertForMember(apiKey('key_2', { memberId: 'mem_gone' })), false);
        assert.equal(await s().apiKeys.get(ORG_A, 'key_2'), null);
        assert.equal(await s().apiKeys.insertForMember(apiKey('key_3', { memberId: 'mem_none' })), false, 'nor for someone who never was a member');
        assert.equal(await s().apiKeys.insertForMember(apiKey('key_4', { orgId: ORG_B })), false, 'nor in an organization they are not in');
        await s().apiKeys.insert(apiKey('key_live', { memberId: 'mem_gone', hash: 'hash_key_live' })); // as if written behind the removal's back
        assert.equal(await s().apiKeys.roll(ORG_A, 'key_live', apiKey('key_next', { memberId: 'mem_gone', hash: 'hash_key_next' }), { revokedAt: T0 + 20 }), 'member_removed');
        assert.equal(await s().apiKeys.get(ORG_A, 'key_next'), null);
        assert.equal((await s().apiKeys.get(ORG_A, 'key_live'))?.replacedBy, null);
      });

      test('an API key cannot be read or revoked through another organization', async () => {
        await s().apiKeys.insert(apiKey('key_1'));
        assert.equal(await s().apiKeys.get(ORG_B, 'key_1'), null);
        assert.equal(await s().apiKeys.revoke(ORG_B, 'key_1', T0 + 100), 0);
        assert.equal((await s().apiKeys.get(ORG_A, 'key_1'))?.revokedAt, null);
      });
    });

    test('data keys list per organization oldest first, and re-wrapping changes only the wrapping', async () => {
      const dk = (id: string, orgId: string, createdAt: string) => ({ id, orgId, masterKid: 'mk_old', wrapped: `w_${id}`, createdAt });
      await s().dataKeys.insertDataKey(dk('dk_2', ORG_A, '2024-02-01T00:00:00.000Z'));
      await s().dataKeys.insertDataKey(dk('dk_1', ORG_A, '2024-01-01T00:00:00.000Z'));
      await s().dataKeys.insertDataKey(dk('dk_3', ORG_B, '2024-01-15T00:00:00.000Z'));
      assert.deepEqual(ids(await s().dataKeys.listDataKeys(ORG_A)), ['dk_1', 'dk_2']);
      assert.deepEqual(new Set(ids(await s().dataKeys.listAllDataKeys())), new Set(['dk_1', 'dk_2', 'dk_3']));
      await s().dataKeys.updateDataKeyWrapping('dk_1', 'mk_new', 'w_new');
      const [first, second] = await s().dataKeys.listDataKeys(ORG_A);
      assert.deepEqual(first, { ...dk('dk_1', ORG_A, '2024-01-01T00:00:00.000Z'), masterKid: 'mk_new', wrapped: 'w_new' });
      assert.deepEqual(second, dk('dk_2', ORG_A, '2024-02-01T00:00:00.000Z'));
    });

    describe('integrations', () => {
      test('an integration reads back with scopes and config intact, and is invisible to another organization', async () => {
        assert.deepEqual(await s().integrations.get(ORG_A, INT_A), integration(INT_A));
        assert.deepEqual(await s().integrations.getById(INT_B), integration(INT_B, { orgId: ORG_B }));
        assert.equal(await s().integrations.get(ORG_B, INT_A), null);
        assert.deepEqual(ids(await s().integrations.list(ORG_A)), [INT_A, INT_A2]);
      });

      test('updating an integration changes only the patched fields, and not through another organization', async () => {
        assert.equal(await s().integrations.update(ORG_A, INT_A, { name: 'Renamed', scopes: ['x'], clientSecretEnc: null, updatedAt: T0 + 5 }), 1);
        assert.deepEqual(await s().integrations.get(ORG_A, INT_A),
          integration(INT_A, { name: 'Renamed', scopes: ['x'], clientSecretEnc: null, updatedAt: T0 + 5 }));
        assert.equal(await s().integrations.update(ORG_B, INT_A, { name: 'Hijacked' }), 0);
        assert.equal((await s().integrations.get(ORG_A, INT_A))?.name, 'Renamed');
      });

      test('deleting an integration is refused with -1 while a connection uses it, and allowed once it is gone', async () => {
        await s().connections.insert(connection('conn_1'));
        assert.equal(await s().integrations.delete(ORG_A, INT_A), -1);
        assert.notEqual(await s().integrations.get(ORG_A, INT_A), null);
        assert.equal(await s().connections.delete(ORG_A, 'conn_1'), 1);
        assert.equal(await s().integrations.delete(ORG_A, INT_A), 1);
        assert.equal(await s().integrations.get(ORG_A, INT_A), null);
        assert.equal(await s().integrations.delete(ORG_A, INT_A), 0, 'deleting again finds nothing');
      });

      test('deleting an integration removes its connect sessions and attempts', async () => {
        await s().connectSessions.insert(connectSession('cs_1'));
        await s().connectAttempts.insert(connectAttempt('ca_1', 'cs_1'));
        assert.equal(await s().integrations.delete(ORG_A, INT_A), 1);
        assert.equal(await s().connectSessions.getById('cs_1'), null);
        assert.equal(await s().connectAttempts.consume('state_ca_1', T0 + 1), null);
      });

      test("deleting an integration through another organization changes nothing, not even its connect sessions", async () => {
        await s().connectSessions.insert(connectSession('cs_1'));
        await s().connectAttempts.insert(connectAttempt('ca_1', 'cs_1'));
        assert.equal(await s().integrations.delete(ORG_B, INT_A), 0);
        assert.notEqual(await s().integrations.get(ORG_A, INT_A), null);
        assert.notEqual(await s().connectSessions.get(ORG_A, 'cs_1'), null);
        assert.equal((await s().connectAttempts.consume('state_ca_1', T0 + 1))?.id, 'ca_1');
      });
    });

    describe('connections', () => {
      test('a connection reads back as inserted, and only within its own organization', async () => {
        const rec = connection('conn_1', { externalId: 'ext-1', metadata: { a: [1, 2], b: null } });
        await s().connections.insert(rec);
        assert.deepEqual(await s().connections.get(ORG_A, 'conn_1'), rec);
        assert.equal(await s().connections.get(ORG_B, 'conn_1'), null);
        assert.equal(await s().connections.update(ORG_B, 'conn_1', { name: 'x' }), 0);
        assert.equal(await s().connections.replaceTokens(ORG_B, 'conn_1', { accessTokenEnc: 'x' }), 0);
        assert.equal(await s().connections.delete(ORG_B, 'conn_1'), 0);
        assert.deepEqual(ids((await s().connections.list(ORG_B, {}, { limit: 10 })).data), []);
        assert.deepEqual(await s().connections.get(ORG_A, 'conn_1'), rec, 'another organization changed nothing');
      });

      test('listing filters by integration, status and external id', async () => {
        await s().connections.insert(connection('conn_1', { createdAt: T0 + 1, externalId: 'u1' }));
        await s().connections.insert(connection('conn_2', { createdAt: T0 + 2, integrationId: INT_A2, externalId: 'u1' }));
        await s().connections.insert(connection('conn_3', { createdAt: T0 + 3, status: 'needs_reauth', externalId: 'u2' }));
        await s().connections.insert(connection('conn_4', { createdAt: T0 + 4, orgId: ORG_B, integrationId: INT_B, externalId: 'u1' }));
        const list = async (f: Parameters<Store['connections']['list']>[1]) => ids((await s().connections.list(ORG_A, f, { limit: 10 })).data);
        assert.deepEqual(await list({}), ['conn_3', 'conn_2', 'conn_1']);
        assert.deepEqual(await list({ integrationId: INT_A }), ['conn_3', 'conn_1']);
        assert.deepEqual(await list({ status: 'needs_reauth' }), ['conn_3']);
        assert.deepEqual(await list({ externalId: 'u1' }), ['conn_2', 'conn_1']);
        assert.deepEqual(await list({ integrationId: INT_A, status: 'active', externalId: 'u1' }), ['conn_1']);
        assert.deepEqual(await list({ status: 'refresh_failing' }), []);
      });

      test('paging through 120 connections 50 at a time returns every one exactly once, newest first', async () => {
        const all: ConnectionRecord[] = [];
        // Three connections share each creation time, so the order must break ties by id.
        for (let i = 0; i < 120; i++) all.push(connection(`conn_${String(i).padStart(3, '0')}`, { createdAt: T0 + Math.floor(i / 3) * 1000 }));
        for (let i = 0; i < 120; i++) await s().connections.insert(all[(i * 37) % 120]!); // not in creation order
        await s().connections.insert(connection('conn_other', { orgId: ORG_B, integrationId: INT_B, createdAt: T0 + 50_000 }));
        const expected = [...all].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1)).map((c) => c.id);
        const seen: string[] = [];
        const sizes: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await s().connections.list(ORG_A, {}, { limit: 50, cursor });
          sizes.push(page.data.length);
          seen.push(...ids(page.data));
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined && sizes.length < 10);
        assert.deepEqual(sizes, [50, 50, 20]);
        assert.equal(new Set(seen).size, 120, 'no connection appears twice');
        assert.deepEqual(seen, expected);
      });

      test('a page that ends exactly at the last connection has no next cursor', async () => {
        for (let i = 0; i < 4; i++) await s().connections.insert(connection(`conn_${i}`, { createdAt: T0 + i }));
        const first = await s().connections.list(ORG_A, {}, { limit: 2 });
        assert.ok(first.nextCursor);
        const second = await s().connections.list(ORG_A, {}, { limit: 2, cursor: first.nextCursor });
        assert.deepEqual(ids(second.data), ['conn_1', 'conn_0']);
        assert.equal(second.nextCursor, null);
      });

      test('replacing tokens writes them and bumps tokenVersion; a plain update leaves the version alone', async () => {
        await s().connections.insert(connection('conn_1', { tokenVersion: 3 }));
        assert.equal(await s().connections.replaceTokens(ORG_A, 'conn_1', { accessTokenEnc: 'enc:at:new', refreshTokenEnc: 'enc:rt:new', obtainedAt: T0 + 9 }), 1);
        let got = await s().connections.get(ORG_A, 'conn_1');
        assert.equal(got?.tokenVersion, 4);
        assert.equal(got?.accessTokenEnc, 'enc:at:new');
        assert.equal(got?.refreshTokenEnc, 'enc:rt:new');
        assert.equal(await s().connections.update(ORG_A, 'conn_1', { status: 'refresh_failing', statusReason: 'invalid_grant', refreshFailures: 2 }), 1);
        got = await s().connections.get(ORG_A, 'conn_1');
        assert.equal(got?.tokenVersion, 4);
        assert.deepEqual([got?.status, got?.statusReason, got?.refreshFailures], ['refresh_failing', 'invalid_grant', 2]);
        assert.equal(await s().connections.delete(ORG_A, 'conn_1'), 1);
        assert.equal(await s().connections.get(ORG_A, 'conn_1'), null);
      });
    });

    describe('stamps for re-checking cached rows', () => {
      test('the stored stamp equals the stamp of the row as read, with and without empty columns; it moves with any change that matters', async () => {
        await s().connections.insert(connection('st_full', { sharing: 'shared', shareLevel: 'manage', expiresAt: T0 + 123_456, refreshFailures: 2 }));
        await s().connections.insert(connection('st_empty', { ownerMemberId: null, shareLevel: null, expiresAt: null, kind: 'client_credentials', refreshTokenEnc: null }));
        const stamps = await s().connections.stamps(['st_full', 'st_empty', 'st_gone']);
        for (const id of ['st_full', 'st_empty']) {
          const row = await s().connections.get(ORG_A, id);
          assert.ok(row);
          assert.equal(stamps.get(id), connectionStamp(row), id);
        }
        assert.equal(stamps.has('st_gone'), false, 'a missing row has no stamp');
        const before = stamps.get('st_full');
        await s().connections.update(ORG_A, 'st_full', { status: 'refresh_failing' });
        assert.notEqual((await s().connections.stamps(['st_full'])).get('st_full'), before, 'a status change moves the stamp');
        assert.deepEqual(await s().connections.stamps([]), new Map());
      });
    });

    describe('what the background scheduler finds due', () => {
      const H = 3_600_000;
      beforeEach(async () => {
        await s().connections.insert(connection('c_soon', { expiresAt: T0 + 60_000 }));
        await s().connections.insert(connection('c_later', { expiresAt: T0 + 10 * H }));
        await s().connections.insert(connection('c_idle', { expiresAt: T0 + 10 * H, obtainedAt: T0 - 40 * 24 * H }));
        await s().connections.insert(connection('c_machine', { kind: 'client_credentials', refreshTokenEnc: null, expiresAt: T0 + 30_000 }));
        await s().connections.insert(connection('c_key', { kind: 'api_key', refreshTokenEnc: null, expiresAt: null }));
        await s().connections.insert(connection('c_dead', { status: 'needs_reauth', expiresAt: T0 - H }));
        await s().connections.insert(connection('c_rt_lapsed', { expiresAt: T0 + 10 * H, refreshExpiresAt: T0 - 1 }));
        await s().connections.insert(connection('c_no_rt_expired', { refreshTokenEnc: null, expiresAt: T0 - 1 }));
      });

      test('refresh: access tokens expiring before the horizon and idle refresh tokens, soonest expiry first, never dead or static ones', async () => {
        const due = await s().connections.dueForRefresh(T0 + 5 * 60_000, T0 - 30 * 24 * H, 100);
        assert.deepEqual(due.map((c) => c.id), ['c_no_rt_expired', 'c_machine', 'c_soon', 'c_idle']);
        assert.deepEqual((await s().connections.dueForRefresh(T0 + 5 * 60_000, T0 - 30 * 24 * H, 2)).map((c) => c.id), ['c_no_rt_expired', 'c_machine'], 'at most the limit, soonest first');
        assert.deepEqual((await s().connections.dueForRefresh(T0 - 2 * H, T0 - 90 * 24 * H, 100)).map((c) => c.id), [], 'nothing due yet');
      });

      test('re-authentication: refresh tokens that expired, and expired access tokens with no refresh token', async () => {
        assert.deepEqual((await s().connections.listDueForReauth(T0, 100)).map((c) => c.id), ['c_no_rt_expired', 'c_rt_lapsed']);
        assert.deepEqual((await s().connections.listDueForReauth(T0, 1)).map((c) => c.id), ['c_no_rt_expired']);
        assert.deepEqual((await s().connections.listDueForReauth(T0 - 2, 100)).map((c) => c.id), []);
      });
    });

    describe('the refresh lease', () => {
      beforeEach(() => s().connections.insert(connection('conn_1', { tokenVersion: 1 })));
      const get = () => s().connections.get(ORG_A, 'conn_1');
      /** The lease alone, from the refresh path's lease-and-row statement. */
      const acquireLease = async (id: string, owner: string, now: number, leaseMs: number) =>
        (await s().connections.acquireLeaseWithRow(id, owner, now, leaseMs))?.lease ?? null;

      test('while one holder has the lease nobody else gets it, even at the instant it ends', async () => {
        const a = await acquireLease('conn_1', 'proc-a', T0, LEASE_MS);
        assert.ok(a);
        assert.equal(a.interruptedAt, null);
        assert.equal(await acquireLease('conn_1', 'proc-b', T0 + 1000, LEASE_MS), null);
        assert.equal(await acquireLease('conn_1', 'proc-a', T0 + 1000, LEASE_MS), null, 'not even the same owner twice');
        assert.equal(await acquireLease('conn_1', 'proc-b', T0 + LEASE_MS, LEASE_MS), null);
      });

      test('after the lease runs out another holder takes it, and the first holder can no longer write', async () => {
        const a = await acquireLease('conn_1', 'proc-a', T0, LEASE_MS);
        assert.ok(a);
        const b = await acquireLease('conn_1', 'proc-b', T0 + LEASE_MS + 1, LEASE_MS);
        assert.ok(b);
        assert.ok(b.fence > a.fence, 'the fence grows with every acquisition');
        const before = await get();
        assert.equal(await s().connections.markInFlight('conn_1', a, T0 + LEASE_MS + 2, LEASE_MS), false);
        assert.equal(await s().connections.finishRefresh('conn_1', a, T0 + LEASE_MS + 2,
          { accessTokenEnc: 'enc:at:A', lastRefreshedAt: T0 + LEASE_MS + 2 }, { newTokens: true, clearInFlight: true }), false);
        assert.deepEqual(await get(), before, 'the stale holder wrote nothing');
        assert.equal(await s().connections.finishRefresh('conn_1', b, T0 + LEASE_MS + 3,
          { accessTokenEnc: 'enc:at:B', lastRefreshedAt: T0 + LEASE_MS + 3 }, { newTokens: true, clearInFlight: true }), true);
        const after = await get();
        assert.equal(after?.accessTokenEnc, 'enc:at:B');
        assert.equal(after?.lastRefreshedAt, T0 + LEASE_MS + 3);
        assert.equal(after?.tokenVersion, 2);
        assert.ok(await acquireLease('conn_1', 'proc-c', T0 + LEASE_MS + 4, LEASE_MS), 'finishing released the lease');
      });

      test('the same owner that lost its lease and took it again cannot write with the old lease', async () => {
        const old = await acquireLease('conn_1', 'proc-a', T0, LEASE_MS);
        assert.ok(old);
        const renewed = await acquireLease('conn_1', 'proc-a', T0 + LEASE_MS + 1, LEASE_MS);
        assert.ok(renewed);
        assert.equal(await s().connections.finishRefresh('conn_1', old, T0 + LEASE_MS + 2, { accessTokenEnc: 'enc:at:old' }, { newTokens: true, clearInFlight: true }), false);
        assert.equal((await get())?.tokenVersion, 1);
      });

      test('a holder whose lease ran out cannot write even when nobody else took it', async () => {
        const a = await acquireLease('conn_1', 'proc-a', T0, LEASE_MS);
        assert.ok(a);
        assert.equal(await s().connections.finishRefresh('conn_1', a, T0 + LEASE_MS + 1, { accessTokenEnc: 'enc:at:late' }, { newTokens: true, clearInFlight: true }), false);
        assert.equal((await get())?.accessTokenEnc, 'enc:at:0');
      });

      test('finishing without new tokens releases the lease and leaves tokenVersion alone', async () => {
        const a = await acquireLease('conn_1', 'proc-a', T0, LEASE_MS);
        assert.ok(a);
        assert.equal(await s().connections.finishRefresh('conn_1', a, T0 + 5, { refreshFailures: 1, status: 'refresh_failing' }, { newTokens: false, clearInFlight: true }), true);
        const got = await get();
        assert.deepEqual([got?.tokenVersion, got?.refreshFailures, got?.status], [1, 1, 'refresh_failing']);
        assert.ok(await acquireLease('conn_1', 'proc-b', T0 + 6, LEASE_MS));
      });

      test('a refresh marked in flight whose holder crashed is reported as interrupted to the next holder', async () => {
        const a = await acquireLease('conn_1', 'proc-a', T0, LEASE_MS);
        assert.ok(a);
        assert.equal(await s().connections.markInFlight('conn_1', a, T0 + 10, LEASE_MS), true);
        // proc-a crashes here: it never finishes. Its lease runs from the call's start.
        assert.equal(await acquireLease('conn_1', 'proc-b', T0 + 10 + LEASE_MS - 1, LEASE_MS), null);
        const b = await acquireLease('conn_1', 'proc-b', T0 + 10 + LEASE_MS + 1, LEASE_MS);
        assert.ok(b);
        assert.equal(b.interruptedAt, T0 + 10);
        assert.equal(await s().connections.finishRefresh('conn_1', b, T0 + LEASE_MS + 2, { status: 'needs_reauth' }, { newTokens: false, clearInFlight: true }), true);
        const c = await acquireLease('conn_1', 'proc-c', T0 + LEASE_MS + 3, LEASE_MS);
        assert.equal(c?.interruptedAt, null, 'clearing the marker ends the report');
      });

      test('starting the provider call renews the lease from then, even one that ran out unclaimed; never one taken meanwhile', async () => {
        const a = await acquireLease('conn_1', 'proc-a', T0, LEASE_MS);
        assert.ok(a);
        // The holder waited its turn past the lease's end; nobody took it meanwhile (same fence).
        assert.equal(await s().connections.markInFlight('conn_1', a, T0 + LEASE_MS + 5, LEASE_MS), true);
        assert.equal(await acquireLease('conn_1', 'proc-b', T0 + 2 * LEASE_MS, LEASE_MS), null, 'held for the whole call');
        assert.equal(await s().connections.finishRefresh('conn_1', a, T0 + 2 * LEASE_MS, { accessTokenEnc: 'enc:at:A' }, { newTokens: true, clearInFlight: true }), true);
        const b = await acquireLease('conn_1', 'proc-b', T0 + 2 * LEASE_MS + 1, LEASE_MS);
        assert.ok(b);
        const c = await acquireLease('conn_1', 'proc-c', T0 + 3 * LEASE_MS + 2, LEASE_MS);
        assert.ok(c, 'proc-b let its lease run out and proc-c took it');
        assert.equal(await s().connections.markInFlight('conn_1', b, T0 + 3 * LEASE_MS + 3, LEASE_MS), false, 'a lease taken by another is never renewed');
      });

      test('finishing with clearInFlight false keeps the in-flight marker for the next holder', async () => {
        const a = await acquireLease('conn_1', 'proc-a', T0, LEASE_MS);
        assert.ok(a);
        assert.equal(await s().connections.markInFlight('conn_1', a, T0 + 1, LEASE_MS), true);
        assert.equal(await s().connections.finishRefresh('conn_1', a, T0 + 2, {}, { newTokens: false, clearInFlight: false }), true);
        const b = await acquireLease('conn_1', 'proc-b', T0 + 3, LEASE_MS);
        assert.equal(b?.interruptedAt, T0 + 1);
      });

      test('of many holders asking at the same instant exactly one gets the lease', async () => {
        const got = await Promise.all(Array.from({ length: 10 }, (_, i) => acquireLease('conn_1', `proc-${i}`, T0, LEASE_MS)));
        assert.equal(got.filter((l) => l !== null).length, 1);
      });

      test('the lease of an unknown connection cannot be taken', async () => {
        assert.equal(await acquireLease('conn_none', 'proc-a', T0, LEASE_MS), null);
      });

      test('a batch claim takes the leases of the wanted connections nobody holds, still at the version judged due', async () => {
        await s().connections.insert(connection('conn_2', { tokenVersion: 4 }));
        await s().connections.insert(connection('conn_3', { tokenVersion: 1 }));
        await s().connections.insert(connection('conn_4', { tokenVersion: 1, status: 'needs_reauth' }));
        const held = await acquireLease('conn_3', 'proc-b', T0, LEASE_MS);
        assert.ok(held);
        const got = await s().connections.claimForRefresh([
          { id: 'conn_1', tokenVersion: 1 }, // due, free: claimed
          { id: 'conn_2', tokenVersion: 3 }, // refreshed elsewhere since (now at 4): left alone
          { id: 'conn_3', tokenVersion: 1 }, // proc-b holds it
          { id: 'conn_4', tokenVersion: 1 }, // a person must reconnect it
          { id: 'conn_none', tokenVersion: 0 },
        ], 'proc-a', T0 + 1, LEASE_MS);
        assert.deepEqual(got.map((g) => g.row.id), ['conn_1']);
        const [c] = got;
        assert.ok(c);
        assert.equal(c.row.tokenVersion, 1);
        assert.equal(c.lease.interruptedAt, null);
        assert.equal(await acquireLease('conn_1', 'proc-b', T0 + 2, LEASE_MS), null, 'the claim holds the lease');
        assert.equal(await s().connections.markInFlight('conn_1', c.lease, T0 + 3, LEASE_MS), true);
        assert.equal(await s().connections.finishRefresh('conn_1', c.lease, T0 + 4, { accessTokenEnc: 'enc:at:claimed' }, { newTokens: true, clearInFlight: true }), true);
        assert.deepEqual([(await get())?.accessTokenEnc, (await get())?.tokenVersion], ['enc:at:claimed', 2]);
        assert.equal((await s().connections.claimForRefresh([{ id: 'conn_1', tokenVersion: 1 }], 'proc-a', T0 + 5, LEASE_MS)).length, 0, 'the old version is not claimed again');
        assert.deepEqual(await s().connections.claimForRefresh([], 'proc-a', T0 + 5, LEASE_MS), []);
      });

      test('processes claiming overlapping batches at once never share a connection', async () => {
        const wanted = [{ id: 'conn_1', tokenVersion: 1 }];
        for (let i = 2; i <= 30; i++) {
          await s().connections.insert(connection(`conn_${i}`, { tokenVersion: 1 }));
          wanted.push({ id: `conn_${i}`, tokenVersion: 1 });
        }
        // Each process asks for the same 30 in its own order.
        const claims = await Promise.all(Array.from({ length: 6 }, (_, p) =>
          s().connections.claimForRefresh([...wanted.slice(p * 5), ...wanted.slice(0, p * 5)], `proc-${p}`, T0, LEASE_MS)));
        const ids = claims.flatMap((c) => c.map((g) => g.row.id));
        assert.equal(new Set(ids).size, ids.length, 'no connection claimed twice');
        assert.equal(ids.length, 30, 'every free connection was claimed by someone');
      });

      test('a claimed connection whose claimer crashed mid-call is reported as interrupted to the next claim', async () => {
        const [a] = await s().connections.claimForRefresh([{ id: 'conn_1', tokenVersion: 1 }], 'proc-a', T0, LEASE_MS);
        assert.ok(a);
        assert.equal(await s().connections.markInFlight('conn_1', a.lease, T0 + 10, LEASE_MS), true);
        assert.deepEqual(await s().connections.claimForRefresh([{ id: 'conn_1', tokenVersion: 1 }], 'proc-b', T0 + 10 + LEASE_MS - 1, LEASE_MS), []);
        const [b] = await s().connections.claimForRefresh([{ id: 'conn_1', tokenVersion: 1 }], 'proc-b', T0 + 10 + LEASE_MS + 1, LEASE_MS);
        assert.ok(b);
        assert.equal(b.lease.interruptedAt, T0 + 10);
        assert.ok(b.lease.fence > a.lease.fence);
        assert.equal(await s().connections.finishRefresh('conn_1', a.lease, T0 + LEASE_MS + 2, { accessTokenEnc: 'enc:at:stale' }, { newTokens: true, clearInFlight: true }), false, 'the crashed claim can no longer write');
      });
    });

    describe('connect sessions and attempts', () => {
      beforeEach(async () => {
        await s().connectSessions.insert(connectSession('cs_1'));
        await s().connectAttempts.insert(connectAttempt('ca_1', 'cs_1'));
      });

      test('a connect session is found by its token hash and updated only within its organization', async () => {
        assert.deepEqual(await s().connectSessions.findByTokenHash('token_cs_1'), connectSession('cs_1'));
        assert.equal(await s().connectSessions.get(ORG_B, 'cs_1'), null);
        assert.equal(await s().connectSessions.update(ORG_B, 'cs_1', { status: 'failed' }), 0);
        assert.equal(await s().connectSessions.update(ORG_A, 'cs_1', { status: 'connected', connectionId: 'conn_1' }), 1);
        assert.deepEqual(await s().connectSessions.get(ORG_A, 'cs_1'), connectSession('cs_1', { status: 'connected', connectionId: 'conn_1' }));
      });

      test('a session ends once: ending it again, through another organization, or once expired changes nothing', async () => {
        assert.equal(await s().connectSessions.endIfPending(ORG_B, 'cs_1', { status: 'failed' }), false);
        assert.equal(await s().connectSessions.endIfPending(ORG_A, 'cs_1', { status: 'connected', connectionId: 'conn_1' }, T0 + 600_000), false, 'expired at that time');
        assert.equal(await s().connectSessions.endIfPending(ORG_A, 'cs_1', { status: 'connected', connectionId: 'conn_1' }, T0 + 599_999), true);
        assert.equal(await s().connectSessions.endIfPending(ORG_A, 'cs_1', { status: 'denied', error: 'access_denied' }), false);
        assert.deepEqual(await s().connectSessions.get(ORG_A, 'cs_1'), connectSession('cs_1', { status: 'connected', connectionId: 'conn_1' }));
        await s().connectSessions.insert(connectSession('cs_2'));
        const racing = await Promise.all(Array.from({ length: 10 }, (_, i) => s().connectSessions.endIfPending(ORG_A, 'cs_2', { status: 'connected', connectionId: `conn_${i}` })));
        assert.equal(racing.filter(Boolean).length, 1, 'of completions racing exactly one ends it');
        assert.equal((await s().connectSessions.get(ORG_A, 'cs_2'))?.connectionId, `conn_${racing.indexOf(true)}`);
      });

      test('a state is redeemed once: the second consume gets nothing', async () => {
        assert.deepEqual(await s().connectAttempts.consume('state_ca_1', T0 + 5), connectAttempt('ca_1', 'cs_1', { usedAt: T0 + 5 }));
        assert.equal(await s().connectAttempts.consume('state_ca_1', T0 + 6), null);
        assert.equal(await s().connectAttempts.consume('state_unknown', T0 + 6), null);
      });

      test('of callbacks racing to redeem one state exactly one succeeds', async () => {
        const two = await Promise.all([s().connectAttempts.consume('state_ca_1', T0 + 5), s().connectAttempts.consume('state_ca_1', T0 + 5)]);
        assert.equal(two.filter((r) => r !== null).length, 1);
        await s().connectAttempts.insert(connectAttempt('ca_2', 'cs_1'));
        const many = await Promise.all(Array.from({ length: 20 }, () => s().connectAttempts.consume('state_ca_2', T0 + 7)));
        assert.equal(many.filter((r) => r !== null).length, 1);
      });

      test('purging removes only attempts that expired before the given time', async () => {
        await s().connectAttempts.insert(connectAttempt('ca_old', 'cs_1', { expiresAt: T0 - 1 }));
        assert.equal(await s().connectAttempts.purgeExpired(T0), 1);
        assert.equal(await s().connectAttempts.consume('state_ca_old', T0), null);
        assert.equal((await s().connectAttempts.consume('state_ca_1', T0))?.id, 'ca_1');
      });
    });

    describe('audit log', () => {
      const entries = Array.from({ length: 30 }, (_, i) => auditEntry(`au_${String(i).padStart(2, '0')}`, {
        at: T0 + i * 1000,
        action: i % 3 === 0 ? 'connection.refresh' : 'connection.create',
        connectionId: i % 2 === 0 ? 'conn_even' : 'conn_odd',
        integrationId: i < 15 ? INT_A : INT_A2,
        actorType: i % 5 === 0 ? 'system' : 'member',
        actorId: i % 5 === 0 ? null : MEMBER_A,
        outcome: i % 7 === 0 ? 'error' : 'ok',
      }));
      beforeEach(async () => {
        await s().audit.append(entries.slice(0, 10));
        await s().audit.append([auditEntry('au_b', { orgId: ORG_B, integrationId: INT_B })]);
        await s().audit.append(entries.slice(10));
        await s().audit.append([]);
      });
      const query = async (f: Parameters<Store['audit']['query']>[1], limit = 100) => (await s().audit.query(ORG_A, f, { limit })).data;

      test('entries come back newest first, as appended, only for the asking organization', async () => {
        const got = await query({});
        assert.deepEqual(got.map(withoutSeq), [...entries].reverse());
        assert.ok(got.every((r, i) => i === 0 || r.seq < got[i - 1]!.seq));
        assert.deepEqual(ids((await s().audit.query(ORG_B, {}, { limit: 10 })).data), ['au_b']);
      });

      test('entries filter by integration, connection, action, actor and time window', async () => {
        const expect = (pred: (e: (typeof entries)[number]) => boolean) => ids([...entries].reverse().filter(pred));
        assert.deepEqual(ids(await query({ integrationId: INT_A2 })), expect((e) => e.integrationId === INT_A2));
        assert.deepEqual(ids(await query({ connectionId: 'conn_odd', action: 'connection.refresh' })),
          expect((e) => e.connectionId === 'conn_odd' && e.action === 'connection.refresh'));
        assert.deepEqual(ids(await query({ actorId: MEMBER_A })), expect((e) => e.actorId === MEMBER_A));
        assert.deepEqual(ids(await query({ since: T0 + 5000, until: T0 + 9000 })), ['au_08', 'au_07', 'au_06', 'au_05']);
      });

      test('the cursor pages through every entry exactly once, also with a filter', async () => {
        const pageAll = async (f: Parameters<Store['audit']['query']>[1], limit: number) => {
          const seen: string[] = [];
          let cursor: string | undefined;
          for (let i = 0; i < 20; i++) {
            const page = await s().audit.query(ORG_A, f, { limit, cursor });
            seen.push(...ids(page.data));
            if (page.nextCursor === null) return seen;
            cursor = page.nextCursor;
          }
          throw new Error('the cursor never ended');
        };
        assert.deepEqual(await pageAll({}, 7), ids([...entries].reverse()));
        assert.deepEqual(await pageAll({ connectionId: 'conn_even' }, 4), ids([...entries].reverse().filter((e) => e.connectionId === 'conn_even')));
      });

      test('a batch larger than one INSERT statement (full chunks and a remainder) is stored whole, in order, every value as given', async () => {
        const big = Array.from({ length: 123 }, (_, i) => auditEntry(`au_big_${String(i).padStart(3, '0')}`, {
          at: T0 + 100_000 + i, detail: { n: i, path: `/items/${i}` }, connectionId: i % 2 === 0 ? null : `conn_${i}`,
        }));
        await s().audit.append(big);
        const got = (await query({ since: T0 + 100_000 }, 200)).map(withoutSeq);
        assert.deepEqual(got, [...big].reverse());
      });

      test('a batch that fails part way stores none of its entries', async () => {
        await assert.rejects(s().audit.append([auditEntry('au_new'), brokenAuditEntry('au_bad')]), 'an entry the table refuses fails the batch');
        assert.equal((await query({})).length, 30);
        assert.ok(!ids(await query({})).includes('au_new'));
      });

      test('pruning removes old entries of one organization, at most the given number at a time', async () => {
        assert.equal(await s().audit.pruneBefore(ORG_A, T0 + 10_000, 4), 4);
        assert.equal(await s().audit.pruneBefore(ORG_A, T0 + 10_000, 100), 6);
        assert.deepEqual(ids(await query({})), ids([...entries].reverse().slice(0, 20)));
        assert.equal((await s().audit.query(ORG_B, {}, { limit: 10 })).data.length, 1);
      });
    });

    concurrencyContract(s);
    teamsContract(s);
  });
}
