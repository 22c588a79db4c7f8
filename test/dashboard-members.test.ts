/**
 * The dashboard in a real browser, continued: the Members page (invite, roles, remove, and what a
 * member sees), Refresh on a connection whose grant was revoked, and 1,000 connections in pages.
 * Its own Keyway (with the sandbox mounted at /sandbox), so revoking grants and moving the clock
 * touch nothing else. Screenshots land in test-results/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { newId } from '../src/core/ids.ts';
import { parseDefinition } from '../src/catalog/index.ts';
import { blankConnection } from '../src/connect/connection-record.ts';
import { LAST_OWNER } from '../src/access/index.ts';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { browserSkipReason, connectSandboxAccount, launchBrowser, screenshot, signedInBrowser } from './helpers/browser.ts';
import { type Person, followLink, invitePerson, sessionApi } from './helpers/teams.ts';

const skip = browserSkipReason();
const WAIT = { timeout: 20_000 };
const HOUR = 3_600_000;

describe('dashboard in a browser: members, refresh, many connections', { skip }, () => {
  let t: TestKeyway;
  let browser: Browser;
  let sandboxId: string;

  before(async () => {
    t = await startTestKeyway({ sandbox: true });
    browser = await launchBrowser();
    const ints = await t.api('GET', '/v1/integrations');
    sandboxId = ints.body.data.find((i: { provider: string }) => i.provider === 'sandbox').id;
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  const flash = (page: Page, text: string | RegExp) => page.locator('#flash', { hasText: text }).waitFor(WAIT);
  const memberRecord = async (id: string) => (await t.kw.services.store.members.get(t.kw.orgId, id))!;
  const focused = (page: Page) => page.evaluate(() => document.activeElement?.textContent ?? '');

  test('members page: an owner invites (link shown once, with copy), changes a role, sees the API refuse demoting the last owner, and removes a member', async () => {
    const { context, page } = await signedInBrowser(browser, t);
    await page.getByRole('link', { name: 'Members' }).click();
    await page.getByRole('heading', { name: 'Members', exact: true }).waitFor(WAIT);
    assert.match(await page.locator('tbody').last().innerText(), /admin@localhost[\s\S]*owner/);

    // Invite: the single-use link appears once, with a copy button.
    await page.getByLabel('Email').fill('dana@example.com');
    await page.getByLabel('Role', { exact: true }).selectOption('admin');
    await page.getByRole('button', { name: 'Invite' }).click();
    const shown = page.locator('[data-result-for="invite"] code.secret');
    await shown.waitFor(WAIT);
    const link = await shown.innerText();
    assert.match(link, /\/invite\/[A-Za-z0-9_-]+$/);
    assert.ok(await page.getByRole('button', { name: 'Copy link' }).isVisible());
    assert.match(await focused(page), /Copy link/);
    await screenshot(page, 'members-invited');
    await page.reload();
    assert.doesNotMatch(await page.locator('main').innerText(), new RegExp(link.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(await page.locator('table', { hasText: 'Open invites' }).innerText(), /dana@example\.com\s+admin\s+pending/);
    const dana = await followLink(t, link);

    // A member who joined (with a key and a personal connection of their own).
    const bob: Person = await invitePerson(t, t.apiKey, 'bob@example.com', 'member');
    const bobConn = await connectSandboxAccount(t, sandboxId, 'bob', bob.key);
    await page.reload();
    const bobRow = page.locator(`tr#${bob.memberId}`);
    await bobRow.waitFor(WAIT);
    assert.match(await bobRow.innerText(), /bob@example\.com\s+member/);
    assert.ok(await page.locator(`tr#${dana.memberId}`).isVisible(), 'the invited admin is listed after accepting');
    await screenshot(page, 'members');

    // Change a role.
    await bobRow.getByLabel(/^Role of/).selectOption('admin');
    await bobRow.getByRole('button', { name: 'Change role' }).click();
    await flash(page, /is now an admin/);
    assert.equal((await memberRecord(bob.memberId)).role, 'admin');

    // The API's refusal, shown plainly: the only owner cannot demote themselves.
    const me = page.locator('tr', { hasText: '(you)' });
    await me.getByLabel(/^Role of/).selectOption('member');
    await me.getByRole('button', { name: 'Change role' }).click();
    await flash(page, `Role not changed: ${LAST_OWNER}`);
    assert.equal(await page.locator('#flash').getAttribute('class'), 'err');
    assert.equal(await me.getByLabel(/^Role of/).inputValue(), 'owner', 'the control shows the role they still have');
    await screenshot(page, 'members-error');

    // Remove: the confirmation says what ends; the row goes; their session and personal connection end.
    let question = '';
    page.once('dialog', (d) => { question = d.message(); void d.accept(); });
    await bobRow.getByRole('button', { name: 'Remove' }).click();
    await flash(page, /Removed .*1 personal connection\(s\) disconnected/);
    assert.match(question, /API keys are revoked and their sessions end/);
    assert.match(question, /personal connections are disconnected/);
    assert.equal(await page.locator(`tr#${bob.memberId}`).count(), 0);
    assert.notEqual((await memberRecord(bob.memberId)).removedAt ?? null, null);
    assert.equal((await sessionApi(t, bob.jar, 'GET', '/v1/me')).status, 401, 'their session ended');
    assert.equal((await t.api('GET', '/v1/connections', undefined, bob.key)).status, 401, 'their key was revoked');
    assert.equal((await t.api('GET', `/v1/connections/${bobConn}`)).status, 404, 'their personal connection is gone');
    await screenshot(page, 'members-removed');
    await context.close();
  });

  test('members page: a member sees the list, no invite form and no controls but Leave in their own row', async () => {
    const carol = await invitePerson(t, t.apiKey, 'carol@example.com', 'member');
    const { context, page } = await signedInBrowser(browser, t, { member: await memberRecord(carol.memberId) });
    await page.goto(`${t.kw.url}/members`);
    await page.getByRole('heading', { name: 'Members', exact: true }).waitFor(WAIT);
    const main = await page.locator('main').innerText();
    assert.match(main, /admin@localhost/);
    assert.match(main, /carol@example\.com/);
    assert.match(main, /Only owners and admins can invite people or change members/);
    assert.equal(await page.locator('main form').count(), 0, 'no invite form');
    assert.equal(await page.locator('main select').count(), 0, 'no role controls');
    // One button: Leave, in their own row.
    assert.equal(await page.locator('main button').count(), 1);
    assert.equal(await page.locator(`tr#${carol.memberId} button`).innerText(), 'Leave');
    await screenshot(page, 'members-as-member');
    await context.close();
  });

  test('keys page: owners and admins see whose each key is (and may revoke, not roll, another\'s); a member sees only their own keys, without that column', async () => {
    const dave = await invitePerson(t, t.apiKey, 'dave@example.com', 'member');
    const daveRecord = await memberRecord(dave.memberId);
    const all = (await t.api('GET', '/v1/api-keys?limit=100')).body.data as { id: string; member: string }[];
    const daves = all.filter((k) => k.member === dave.memberId).map((k) => k.id).sort();
    assert.ok(daves.length > 0 && all.length > daves.length);

    const owner = await signedInBrowser(browser, t);
    await owner.page.goto(`${t.kw.url}/keys`);
    await owner.page.getByRole('columnheader', { name: 'Belongs to' }).waitFor(WAIT);
    assert.equal(await owner.page.locator(`tr#${daves[0]} td`).nth(1).innerText(), daveRecord.name);
    // Another member's key: the owner may revoke it, not roll it (the new key would act as Dave).
    assert.equal(await owner.page.locator(`tr#${daves[0]}`).getByRole('button', { name: 'Revoke' }).count(), 1);
    assert.equal(await owner.page.locator(`tr#${daves[0]} details.roll`).count(), 0);
    await owner.context.close();

    const member = await signedInBrowser(browser, t, { member: daveRecord });
    await member.page.goto(`${t.kw.url}/keys`);
    await member.page.getByRole('heading', { name: 'API keys' }).waitFor(WAIT);
    assert.equal(await member.page.getByRole('columnheader', { name: 'Belongs to' }).count(), 0);
    const shown = await member.page.locator('#key-rows tr').evaluateAll((rows) => rows.map((r) => r.id));
    assert.deepEqual(shown.sort(), daves, 'only their own keys');
    assert.equal(await member.page.locator(`tr#${daves[0]} details.roll`).count(), 1, 'their own key they may roll');
    await member.context.close();
  });

  test('members page: a member leaves — asked first, signed out, their key stops working; the last owner is told why they cannot', async () => {
    const erin = await invitePerson(t, t.apiKey, 'erin@example.com', 'member');
    assert.equal((await fetch(`${t.kw.url}/v1/connections`, { headers: { authorization: `Bearer ${erin.key}` } })).status, 200);
    const { context, page } = await signedInBrowser(browser, t, { member: await memberRecord(erin.memberId) });
    await page.goto(`${t.kw.url}/members`);
    await page.getByRole('heading', { name: 'Members', exact: true }).waitFor(WAIT);
    let question = '';
    page.once('dialog', (d) => { question = d.message(); void d.accept(); });
    await Promise.all([page.waitForURL(/\/\?left=1$/, WAIT), page.locator(`tr#${erin.memberId} button`, { hasText: 'Leave' }).click()]);
    assert.match(question, /Leave the organization\? Your API keys are revoked and your sessions end at once/);
    await screenshot(page, 'members-left');
    // Gone from the list, their key refused, and the browser's session ended.
    const members = await t.api('GET', '/v1/members');
    assert.ok(!members.body.data.some((m: { id: string; removedAt: string | null }) => m.id === erin.memberId && m.removedAt === null));
    const withKey = await fetch(`${t.kw.url}/v1/connections`, { headers: { authorization: `Bearer ${erin.key}` } });
    assert.equal(withKey.status, 401);
    await page.goto(`${t.kw.url}/members`);
    assert.doesNotMatch(await page.locator('body').innerText(), /erin@example\.com/);
    await context.close();

    // The only owner: the API refuses, and the page says so; nothing changes.
    const owner = await signedInBrowser(browser, t);
    await owner.page.goto(`${t.kw.url}/members`);
    await owner.page.getByRole('heading', { name: 'Members', exact: true }).waitFor(WAIT);
    owner.page.once('dialog', (d) => { void d.accept(); });
    await owner.page.locator('tr', { hasText: 'admin@localhost' }).getByRole('button', { name: 'Leave' }).click();
    await flash(owner.page, /You are still a member: .*owner/);
    assert.ok(owner.page.url().endsWith('/members'));
    await owner.context.close();
  });

  test('Refresh on a connection whose grant was revoked shows the reason and focuses Re-authenticate; on an amber one it turns green', async () => {
    const dead = await connectSandboxAccount(t, sandboxId, 'rita');
    const live = await connectSandboxAccount(t, sandboxId, 'sam');
    await t.kw.sandbox!.revokeAccountGrants('rita');
    t.clock.advance(2 * HOUR); // past the access tokens' expiry
    // An app's call finds the grant dead: the connection turns red.
    assert.equal((await t.api('GET', `/v1/connections/${dead}/token`)).status, 409);
    await t.kw.services.store.connections.update(t.kw.orgId, live, { status: 'refresh_failing', statusReason: 'The provider answered 503 twice in a row.', statusSince: t.clock.now() });

    const { context, page } = await signedInBrowser(browser, t);
    const red = page.locator(`li#${dead}`);
    await red.waitFor(WAIT);
    assert.equal(await red.locator('.badge').innerText(), 'Needs re-authentication');
    await red.getByRole('button', { name: 'Refresh' }).click();
    await flash(page, /invalid_grant[\s\S]*Press Re-authenticate/);
    assert.match(await red.locator('.reason').innerText(), /invalid_grant/);
    assert.equal(await focused(page), 'Re-authenticate');
    await screenshot(page, 'refresh-dead-grant');

    const amber = page.locator(`li#${live}`);
    assert.equal(await amber.locator('.badge').innerText(), 'Refresh failing');
    await amber.getByRole('button', { name: 'Refresh' }).click();
    await flash(page, 'Refreshed: the connection has a new access token.');
    await page.locator(`li#${live} .badge`, { hasText: 'Active' }).waitFor(WAIT);
    assert.equal((await t.api('GET', `/v1/connections/${live}`)).body.status, 'active');
    await context.close();
  });

  test('with 1,000 connections the integrations page shows a page of 50 and a working next-page link', async () => {
    const { store, vault, random } = t.kw.services;
    const integration = (await store.integrations.get(t.kw.orgId, sandboxId))!;
    const owner = (await store.members.list(t.kw.orgId)).find((m) => m.role === 'owner')!;
    const def = parseDefinition({ id: 'custom', name: 'Seeded' }, 'test');
    // Rows as bench/seed.ts builds them: a sealed-looking envelope of the real size (never opened).
    const filler = await vault.encrypt({ orgId: t.kw.orgId, recordId: 'conn_filler', field: 'access_token' }, 'seeded-access-token-never-used');
    const now = t.clock.now();
    for (let i = 0; i < 1000; i++) {
      const c = blankConnection({
        id: newId('connection', random), orgId: t.kw.orgId, integration, def, kind: 'oauth2', ownerMemberId: owner.id,
        choices: { name: `Seeded connection ${i}` }, requestedScopes: ['profile'], account: null, now: now - 1000 + i,
      });
      c.accessTokenEnc = filler;
      c.tokenType = 'bearer';
      await store.connections.insert(c);
    }

    const { context, page } = await signedInBrowser(browser, t);
    const items = page.locator('li.conn');
    assert.equal(await items.count(), 50, 'one page of 50 connections');
    const first = await items.evaluateAll((els) => els.map((e) => e.id));
    await screenshot(page, 'integrations-1000');
    await page.getByRole('link', { name: 'Next page of connections' }).click();
    await page.waitForURL(/cursor=/, WAIT);
    await page.getByRole('link', { name: 'First page' }).waitFor(WAIT);
    assert.equal(await items.count(), 50);
    const second = await items.evaluateAll((els) => els.map((e) => e.id));
    assert.equal(second.filter((id) => first.includes(id)).length, 0, 'the second page shows other connections');
    assert.ok(await page.getByRole('link', { name: 'Next page of connections' }).isVisible(), 'more pages follow');
    assert.doesNotMatch(await page.content(), /seeded-access-token|"accessToken"/);
    await context.close();
  });
});
