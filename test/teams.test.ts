import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { CookieJar } from './helpers/browserless.ts';
import { auditOf, followLink, invitePerson, keyFor, newOrg, sessionApi } from './helpers/teams.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

describe('teams: organizations, invites, roles, members leaving', () => {
  let t: TestKeyway;
  before(async () => { t = await startTestKeyway(); });
  after(async () => { await t.close(); });

  test('`keyway org create` makes an organization and prints a one-time sign-in link for its first owner', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'org', 'create', 'Acme Legal', '--owner-email', 'Olga@Acme.test', '--data-dir', t.dataDir],
      { env: { ...process.env, KEYWAY_PUBLIC_URL: t.kw.url } });
    const orgId = /Organization: (org_\S+)/.exec(stdout)?.[1];
    const link = /(http:\/\/\S+\/auth\/link\/\S+)/.exec(stdout)?.[1];
    assert.ok(orgId && link, stdout);
    const owner = await followLink(t, link);
    assert.equal(owner.orgId, orgId);
    const me = await sessionApi(t, owner.jar, 'GET', '/v1/me');
    assert.deepEqual([me.body.role, me.body.member.email, me.body.org.name], ['owner', 'olga@acme.test', 'Acme Legal']);
    const again = await new CookieJar().fetch(link, { method: 'POST' });
    assert.equal(again.status, 400, 'the link works once');
    assert.match(await again.text(), /used already/);
    assert.ok(!t.logs.text().includes(link.split('/').pop()!), 'the link token is not logged');
  });

  test('an owner creates an organization through the API and becomes its owner; others cannot', async () => {
    const acme = await newOrg(t, t.apiKey, 'Second org');
    assert.notEqual(acme.orgId, t.kw.orgId);
    const org = await t.api('GET', `/v1/orgs/${acme.orgId}`, undefined, acme.key);
    assert.deepEqual([org.status, org.body.name, org.body.role], [200, 'Second org', 'owner']);
    const member = await invitePerson(t, t.apiKey, 'mia@example.test', 'member');
    const refused = await t.api('POST', '/v1/orgs', { name: 'Not mine' }, member.key);
    assert.equal(refused.status, 403);
    assert.match(refused.body.error.message, /Only an owner/);
  });

  test('an invite link works once, and the person joins with the invited role', async () => {
    const inv = await t.api('POST', '/v1/invites', { email: 'Ann@Example.test', role: 'admin' });
    assert.equal(inv.status, 201);
    assert.deepEqual([inv.body.email, inv.body.role, inv.body.status], ['ann@example.test', 'admin', 'pending']);
    assert.match(inv.body.inviteUrl, /\/invite\/[A-Za-z0-9_-]{43}$/);
    const listed = await t.api('GET', '/v1/invites');
    assert.ok(listed.body.data.some((i: { id: string }) => i.id === inv.body.id));
    assert.ok(!JSON.stringify(listed.body).includes(inv.body.inviteUrl), 'the list never shows the link');

    const page = await (await fetch(inv.body.inviteUrl)).text();
    assert.match(page, /ann@example\.test is invited to join as admin/);
    const forged = await new CookieJar().fetch(inv.body.inviteUrl, { method: 'POST', headers: { origin: 'https://evil.example' } });
    assert.equal(forged.status, 403, 'a form posted from another site (login CSRF) is refused');
    const ann = await followLink(t, inv.body.inviteUrl);
    const members = await t.api('GET', '/v1/members');
    const joined = members.body.data.find((m: { id: string }) => m.id === ann.memberId);
    assert.deepEqual([joined.email, joined.role], ['ann@example.test', 'admin']);

    const second = await new CookieJar().fetch(inv.body.inviteUrl, { method: 'POST' });
    assert.equal(second.status, 404);
    assert.match(await second.text(), /used already/);
    assert.equal((await fetch(inv.body.inviteUrl)).status, 404, 'the page says so too');
    assert.ok(!(await t.api('GET', '/v1/invites')).body.data.some((i: { id: string }) => i.id === inv.body.id));
    const token = inv.body.inviteUrl.split('/').pop();
    assert.ok(!t.logs.text().includes(token), 'the invite token is not logged');
    const joins = await auditOf(t, 'member.join');
    assert.ok(joins.some((e) => e.actor.id === ann.memberId && e.detail.role === 'admin'));
  });

  test('an invite expires after 7 days, and a withdrawn one stops working at once', async () => {
    const late = await t.api('POST', '/v1/invites', { email: 'late@example.test' });
    const withdrawn = await t.api('POST', '/v1/invites', { email: 'gone@example.test' });
    assert.equal((await t.api('DELETE', `/v1/invites/${withdrawn.body.id}`)).status, 204);
    assert.equal((await new CookieJar().fetch(withdrawn.body.inviteUrl, { method: 'POST' })).status, 404);
    t.clock.advance(7 * 24 * 3_600_000 + 1000);
    try {
      const res = await new CookieJar().fetch(late.body.inviteUrl, { method: 'POST' });
      assert.equal(res.status, 404);
      assert.match(await res.text(), /expired/);
      const listed = (await t.api('GET', '/v1/invites')).body.data.find((i: { id: string }) => i.id === late.body.id);
      assert.equal(listed.status, 'expired');
    } finally {
      t.clock.advance(-(7 * 24 * 3_600_000 + 1000));
    }
    const joined = await invitePerson(t, t.apiKey, 'twice@example.test');
    const again = await t.api('POST', '/v1/invites', { email: 'Twice@example.test' });
    assert.equal(again.status, 409, 'a current member is not invited again');
    assert.match(again.body.error.message, /already a member/);
    assert.ok(joined.memberId);
  });

  test('roles: members cannot invite or change roles, admins cannot make owners, only owners touch owners', async () => {
    const admin = await invitePerson(t, t.apiKey, 'adele@example.test', 'admin');
    const member = await invitePerson(t, admin.key, 'max@example.test', 'member');
    assert.equal((await t.api('POST', '/v1/invites', { email: 'x@example.test' }, member.key)).status, 403);
    assert.equal((await t.api('PATCH', `/v1/members/${member.memberId}`, { role: 'admin' }, member.key)).status, 403);
    const noOwner = await t.api('POST', '/v1/invites', { email: 'boss@example.test', role: 'owner' }, admin.key);
    assert.equal(noOwner.status, 403);
    assert.match(noOwner.body.error.message, /Only an owner may make someone an owner/);
    assert.equal((await t.api('PATCH', `/v1/members/${member.memberId}`, { role: 'owner' }, admin.key)).status, 403);
    const promoted = await t.api('PATCH', `/v1/members/${member.memberId}`, { role: 'admin' }, admin.key);
    assert.deepEqual([promoted.status, promoted.body.role], [200, 'admin']);
    const ownerId = (await t.api('GET', '/v1/me')).body.member.id;
    assert.equal((await t.api('DELETE', `/v1/members/${ownerId}`, undefined, admin.key)).status, 403, 'an admin cannot remove an owner');
    assert.equal((await t.api('PATCH', `/v1/members/${ownerId}`, { role: 'member' }, admin.key)).status, 403);
    // The new role counts from the next request, in both directions.
    assert.equal((await t.api('GET', '/v1/audit', undefined, member.key)).status, 200);
    assert.equal((await t.api('PATCH', `/v1/members/${member.memberId}`, { role: 'member' })).status, 200);
    assert.equal((await t.api('GET', '/v1/audit', undefined, member.key)).status, 403, 'demoted: refused at once');
    const changes = await auditOf(t, 'member.role_change');
    const promotion = changes.find((e) => e.detail.targetMember === member.memberId && e.detail.to === 'admin');
    assert.ok(promotion);
    assert.deepEqual([promotion.actor.type, promotion.detail.member, promotion.detail.from], ['api_key', admin.memberId, 'member'], 'done as the admin, through their key');
  });

  test('the last owner can neither leave nor be demoted; with another owner they can leave', async () => {
    const acme = await newOrg(t, t.apiKey, 'Owners org');
    const leave = await t.api('DELETE', `/v1/members/${acme.memberId}`, undefined, acme.key);
    assert.equal(leave.status, 409);
    assert.match(leave.body.error.message, /at least one owner/);
    assert.equal((await t.api('PATCH', `/v1/members/${acme.memberId}`, { role: 'admin' }, acme.key)).status, 409);
    const second = await invitePerson(t, acme.key, 'co-owner@example.test', 'owner');
    assert.equal(second.orgId, acme.orgId);
    const left = await t.api('DELETE', `/v1/members/${acme.memberId}`, undefined, acme.key);
    assert.equal(left.status, 200);
    assert.equal((await t.api('GET', '/v1/members', undefined, second.key)).body.data.length, 1);
  });

  test('removing a member revokes their API keys and ends their sessions at once', async () => {
    const gone = await invitePerson(t, t.apiKey, 'gone@example.test', 'member');
    const other = await keyFor(t, gone.jar, gone.csrf, {});
    assert.equal((await t.api('GET', '/v1/connections', undefined, gone.key)).status, 200);
    assert.equal((await sessionApi(t, gone.jar, 'GET', '/v1/me')).status, 200);
    const removed = await t.api('DELETE', `/v1/members/${gone.memberId}`);
    assert.equal(removed.status, 200);
    assert.deepEqual([removed.body.revokedKeys, removed.body.endedSessions], [2, 1]);
    for (const key of [gone.key, other]) {
      const res = await t.api('GET', '/v1/connections', undefined, key);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('keyway-error'), 'unauthorized');
      assert.equal((await fetch(`${t.kw.url}/v1/proxy/conn_x/me`, { headers: { authorization: `Bearer ${key}` } })).status, 401);
    }
    assert.equal((await sessionApi(t, gone.jar, 'GET', '/v1/me')).status, 401);
    const keys = (await t.api('GET', '/v1/api-keys?limit=200')).body.data.filter((k: { member: string }) => k.member === gone.memberId);
    assert.ok(keys.length === 2 && keys.every((k: { revokedAt: string | null }) => k.revokedAt !== null));
    const former = await t.api('GET', `/v1/members/${gone.memberId}`);
    assert.notEqual(former.body.removedAt, null, 'a former member is still named');
    assert.ok(!(await t.api('GET', '/v1/members')).body.data.some((m: { id: string }) => m.id === gone.memberId));
    const entry = (await auditOf(t, 'member.remove')).find((e) => e.detail.targetMember === gone.memberId);
    assert.ok(entry);
    assert.equal(entry.detail.revokedKeys.length, 2);
  });

  test('a member removed by another process (the database) is refused within a second: the key gate re-checks', async () => {
    const p = await invitePerson(t, t.apiKey, 'elsewhere@example.test', 'member');
    assert.equal((await t.api('GET', '/v1/connections', undefined, p.key)).status, 200, 'the key is cached now');
    // As another Keyway process would: straight to the shared database, no cache here is told.
    const out = await t.kw.services.store.members.remove(p.orgId, p.memberId, t.clock.now());
    assert.ok(typeof out === 'object' && out.revokedKeyIds.length === 1);
    let status = 0;
    for (let i = 0; i < 40 && status !== 401; i++) {
      status = (await t.api('GET', '/v1/connections', undefined, p.key)).status;
      if (status !== 401) await sleep(50);
    }
    assert.equal(status, 401);
  });
});
