/**
 * Store contract, teams: members leaving and changing roles, sign-in identities, sessions,
 * one-time sign-in links, invites, SSO attempts and connection sharing. Part of the one suite that
 * runs against every store (see store-contract.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InviteRecord, MemberRecord, SessionRecord, Store } from '../../src/store/index.ts';
import { MEMBER_A, MEMBER_B, ORG_A, ORG_B, T0, apiKey, connectSession, connection, ids } from './store-fixtures.ts';

const member = (id: string, over: Partial<MemberRecord> = {}): MemberRecord =>
  ({ id, orgId: ORG_A, email: `${id}@example.test`, name: id, role: 'member', createdAt: T0 + 1, ...over });

const session = (id: string, over: Partial<SessionRecord> = {}): SessionRecord =>
  ({ id, orgId: ORG_A, memberId: MEMBER_A, hash: `hash_${id}`, method: 'login_link', createdAt: T0, lastSeenAt: T0, expiresAt: T0 + 1000, ...over });

const invite = (id: string, over: Partial<InviteRecord> = {}): InviteRecord => ({
  id, orgId: ORG_A, email: `${id}@example.test`, role: 'member', tokenHash: `tok_${id}`, invitedByMemberId: MEMBER_A,
  expiresAt: T0 + 1000, acceptedAt: null, acceptedMemberId: null, revokedAt: null, createdAt: T0, ...over,
});

export function teamsContract(s: () => Store): void {
  describe('teams', () => {
    test('members are found by email in any case and by sign-in identity, across organizations, current ones only', async () => {
      await s().members.insert(member('mem_c', { email: 'Cy@Example.test' }));
      await s().members.insert(member('mem_d', { orgId: ORG_B, email: 'cy@example.test', oidcIssuer: 'https://idp.test', oidcSubject: 'sub-9' }));
      assert.deepEqual(ids(await s().members.findByEmail('CY@example.TEST')), ['mem_c', 'mem_d']);
      assert.deepEqual(ids(await s().members.findByIdentity('https://idp.test', 'sub-9')), ['mem_d']);
      assert.deepEqual(await s().members.findByIdentity('https://other.test', 'sub-9'), []);
      assert.equal(await s().members.setIdentity(ORG_A, 'mem_c', 'https://idp.test', 'sub-1'), 1);
      assert.equal(await s().members.setIdentity(ORG_A, 'mem_c', 'https://idp.test', 'sub-2'), 0, 'a recorded identity is never replaced');
      assert.equal(await s().members.setIdentity(ORG_B, 'mem_c', 'https://idp.test', 'sub-3'), 0, 'not through another organization');
      assert.equal((await s().members.get(ORG_A, 'mem_c'))?.oidcSubject, 'sub-1');
    });

    test('the last owner can be neither demoted nor removed; with a second owner both work', async () => {
      assert.equal(await s().members.setRole(ORG_A, MEMBER_A, 'admin'), 'last_owner');
      assert.equal(await s().members.remove(ORG_A, MEMBER_A, T0 + 5), 'last_owner');
      assert.equal((await s().members.get(ORG_A, MEMBER_A))?.role, 'owner');
      await s().members.insert(member('mem_c'));
      assert.equal(await s().members.setRole(ORG_A, 'mem_c', 'owner'), 'changed');
      assert.equal(await s().members.setRole(ORG_A, MEMBER_A, 'admin'), 'changed');
      assert.equal(await s().members.setRole(ORG_A, 'mem_c', 'member'), 'last_owner');
      assert.equal(await s().members.setRole(ORG_B, 'mem_c', 'member'), 'missing', 'not through another organization');
      assert.equal(await s().members.setRole(ORG_A, 'mem_none', 'member'), 'missing');
    });

    test('removing a member revokes their keys, ends their sessions, links and pending connect sessions, in their organization only', async () => {
      await s().members.insert(member('mem_c'));
      await s().apiKeys.insert(apiKey('key_c1', { memberId: 'mem_c' }));
      await s().apiKeys.insert(apiKey('key_c2', { memberId: 'mem_c', revokedAt: T0 + 1 }));
      await s().apiKeys.insert(apiKey('key_a', { memberId: MEMBER_A }));
      await s().sessions.insert(session('ses_c', { memberId: 'mem_c' }));
      await s().sessions.insert(session('ses_a'));
      await s().loginLinks.insert({ id: 'lnk_c', orgId: ORG_A, memberId: 'mem_c', tokenHash: 'lt_c', expiresAt: T0 + 1000, usedAt: null, createdAt: T0 });
      await s().connectSessions.insert(connectSession('cs_c', { createdByMemberId: 'mem_c', deviceCodeEnc: 'sealed', nextPollAt: T0 + 5 }));
      await s().connectSessions.insert(connectSession('cs_c_done', { createdByMemberId: 'mem_c', status: 'connected', connectionId: 'conn_x' }));
      await s().connectSessions.insert(connectSession('cs_a', { createdByMemberId: MEMBER_A }));
      assert.equal(await s().members.remove(ORG_B, 'mem_c', T0 + 9), 'missing');
      assert.deepEqual(await s().members.remove(ORG_A, 'mem_c', T0 + 10), { revokedKeyIds: ['key_c1'], endedSessions: 1, endedConnectSessions: 1 });
      assert.deepEqual(await s().connectSessions.get(ORG_A, 'cs_c'),
        connectSession('cs_c', { createdByMemberId: 'mem_c', status: 'failed', error: 'member_removed', deviceCodeEnc: null, nextPollAt: null }));
      assert.equal((await s().connectSessions.get(ORG_A, 'cs_c_done'))?.status, 'connected', 'an ended session keeps its end');
      assert.equal((await s().connectSessions.get(ORG_A, 'cs_a'))?.status, 'pending');
      assert.equal((await s().apiKeys.get(ORG_A, 'key_c1'))?.revokedAt, T0 + 10);
      assert.equal((await s().apiKeys.get(ORG_A, 'key_c2'))?.revokedAt, T0 + 1, 'an earlier revocation is kept');
      assert.equal((await s().apiKeys.get(ORG_A, 'key_a'))?.revokedAt, null);
      assert.equal(await s().sessions.findByHash('hash_ses_c'), null);
      assert.notEqual(await s().sessions.findByHash('hash_ses_a'), null);
      assert.equal(await s().loginLinks.consume('lt_c', T0 + 11), null);
      assert.deepEqual(ids(await s().members.list(ORG_A)), [MEMBER_A], 'a former member is not listed');
      assert.deepEqual(ids(await s().members.listAll(ORG_A)), [MEMBER_A, 'mem_c']);
      assert.equal((await s().members.get(ORG_A, 'mem_c'))?.removedAt, T0 + 10, 'a former member is still readable by id');
      assert.deepEqual(await s().members.findByEmail('mem_c@example.test'), []);
      assert.equal(await s().members.remove(ORG_A, 'mem_c', T0 + 20), 'missing', 'removed once');
    });

    test('sessions are found by hash, touched, and ended one by one, per member, or when expired or idle', async () => {
      await s().sessions.insert(session('ses_1'));
      await s().sessions.insert(session('ses_2', { lastSeenAt: T0 + 500 }));
      await s().sessions.insert(session('ses_3', { memberId: MEMBER_B, orgId: ORG_B, expiresAt: T0 + 50 }));
      await assert.rejects(s().sessions.insert(session('ses_4', { hash: 'hash_ses_1' })), 'two sessions cannot share a hash');
      assert.deepEqual(await s().sessions.findByHash('hash_ses_1'), session('ses_1'));
      assert.equal(await s().sessions.get(ORG_B, 'ses_1'), null, 'not through another organization');
      assert.equal(await s().sessions.touch('ses_1', T0 + 300), 1);
      assert.equal((await s().sessions.findByHash('hash_ses_1'))?.lastSeenAt, T0 + 300);
      assert.equal(await s().sessions.purgeExpired(T0 + 100, T0 + 400), 2, 'ses_3 past its end, ses_1 idle');
      assert.deepEqual((await s().sessions.get(ORG_A, 'ses_2'))?.id, 'ses_2');
      assert.equal(await s().sessions.deleteForMember(ORG_B, MEMBER_A), 0);
      assert.equal(await s().sessions.deleteForMember(ORG_A, MEMBER_A), 1);
      assert.equal(await s().sessions.delete('ses_2'), 0);
    });

    test('a sign-in link and an SSO attempt are redeemed once; peeking does not use a link', async () => {
      await s().loginLinks.insert({ id: 'lnk_1', orgId: ORG_A, memberId: MEMBER_A, tokenHash: 'lt_1', expiresAt: T0 + 1000, usedAt: null, createdAt: T0 });
      assert.equal((await s().loginLinks.peek('lt_1'))?.usedAt, null);
      const [a, b] = await Promise.all([s().loginLinks.consume('lt_1', T0 + 5), s().loginLinks.consume('lt_1', T0 + 6)]);
      assert.equal([a, b].filter((x) => x !== null).length, 1, 'two redemptions racing: one wins');
      assert.equal(await s().loginLinks.consume('lt_1', T0 + 7), null);
      assert.equal(await s().loginLinks.consume('lt_unknown', T0 + 7), null);
      await s().signInAttempts.insert({
        id: 'sia_1', orgId: null, stateHash: 'st_1', browserHash: 'br_1', nonce: 'n', inviteId: null, returnTo: '/x', expiresAt: T0 + 600, usedAt: null, createdAt: T0,
      });
      assert.deepEqual(await s().signInAttempts.consume('st_1', T0 + 1), {
        id: 'sia_1', orgId: null, stateHash: 'st_1', browserHash: 'br_1', nonce: 'n', inviteId: null, returnTo: '/x', expiresAt: T0 + 600, usedAt: T0 + 1, createdAt: T0,
      });
      assert.equal(await s().signInAttempts.consume('st_1', T0 + 2), null);
      assert.equal(await s().signInAttempts.purgeExpired(T0 + 601), 1);
      assert.equal(await s().loginLinks.purgeExpired(T0 + 1001), 1);
    });

    test('an invite is accepted once, and never once expired or withdrawn', async () => {
      await s().invites.insert(invite('inv_1'));
      await s().invites.insert(invite('inv_2', { expiresAt: T0 + 10 }));
      await s().invites.insert(invite('inv_3', { createdAt: T0 + 1 }));
      await s().invites.insert(invite('inv_b', { orgId: ORG_B, invitedByMemberId: MEMBER_B }));
      assert.deepEqual(await s().invites.findByHash('tok_inv_1'), invite('inv_1'));
      assert.equal(await s().invites.get(ORG_B, 'inv_1'), null);
      const both = await Promise.all([s().invites.accept('inv_1', 'mem_x', T0 + 5), s().invites.accept('inv_1', 'mem_y', T0 + 5)]);
      assert.deepEqual(both.filter(Boolean).length, 1);
      assert.equal(await s().invites.accept('inv_2', 'mem_z', T0 + 10), false, 'expired');
      assert.equal(await s().invites.revoke(ORG_B, 'inv_3', T0 + 6), 0, 'not through another organization');
      assert.equal(await s().invites.revoke(ORG_A, 'inv_3', T0 + 6), 1);
      assert.equal(await s().invites.revoke(ORG_A, 'inv_3', T0 + 7), 0);
      assert.equal(await s().invites.accept('inv_3', 'mem_z', T0 + 8), false, 'withdrawn');
      assert.deepEqual(ids(await s().invites.listOpen(ORG_A)), ['inv_2']);
      assert.equal((await s().invites.getById('inv_1'))?.acceptedMemberId !== null, true);
    });

    test('a connection is personal unless shared, and its sharing reads back as written', async () => {
      const { sharing: _s, shareLevel: _l, ...unshared } = connection('conn_1');
      await s().connections.insert(unshared);
      assert.deepEqual([(await s().connections.get(ORG_A, 'conn_1'))?.sharing, (await s().connections.get(ORG_A, 'conn_1'))?.shareLevel], ['personal', null]);
      assert.equal(await s().connections.update(ORG_A, 'conn_1', { sharing: 'shared', shareLevel: 'manage' }), 1);
      assert.equal(await s().connections.update(ORG_B, 'conn_1', { sharing: 'personal', shareLevel: null }), 0);
      const got = await s().connections.get(ORG_A, 'conn_1');
      assert.deepEqual([got?.sharing, got?.shareLevel], ['shared', 'manage']);
    });
  });
}
