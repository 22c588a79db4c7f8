/**
 * The dashboard as a careful person uses it, in a real browser (Debian's chromium through
 * playwright-core): a session that ended in another tab, what a member without admin rights is
 * offered, and dates a person can read. Screenshots land in test-results/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { browserSkipReason, connectSandboxAccount, launchBrowser, screenshot, signedInBrowser } from './helpers/browser.ts';
import { invitePerson } from './helpers/teams.ts';

const skip = browserSkipReason();
const WAIT = { timeout: 20_000 };

describe('dashboard review in a browser', { skip }, () => {
  let t: TestKeyway;
  let browser: Browser;

  before(async () => {
    t = await startTestKeyway({ sandbox: true });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test('a button pressed after signing out in another tab says you are signed out and offers to sign in again', async () => {
    const { context, page } = await signedInBrowser(browser, t);
    const other = await context.newPage();
    await other.goto(`${t.kw.url}/integrations`);
    await other.getByRole('button', { name: 'Sign out' }).click();
    await other.getByRole('heading', { name: 'Not signed in' }).waitFor(WAIT);
    await other.close();

    await page.getByRole('button', { name: 'Connect', exact: true }).first().click();
    const flash = page.locator('#flash.err', { hasText: 'You are signed out' });
    await flash.waitFor(WAIT);
    const text = await flash.innerText();
    assert.doesNotMatch(text, /Authorization: Bearer|API key/, 'not the API client\'s advice');
    assert.match(text, /nothing was changed/);
    const again = flash.getByRole('link', { name: 'Sign in again' });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Sign in again', 'keyboard focus is on the way back');
    await screenshot(page, 'review-signed-out');
    await again.click();
    await page.getByRole('heading', { name: 'Sign in to Keyway' }).waitFor(WAIT);
    await context.close();
  });

  test('a member is not offered Add integration or the audit log (which the API refuses them), and those pages say who can', async () => {
    const mia = await invitePerson(t, t.apiKey, 'mia@example.com', 'member');
    const member = (await t.kw.services.store.members.get(t.kw.orgId, mia.memberId))!;
    const { context, page } = await signedInBrowser(browser, t, { member });
    const nav = page.getByRole('navigation', { name: 'Main' });
    assert.deepEqual(await nav.getByRole('link').allInnerTexts(), ['Integrations', 'API keys', 'Members']);

    await page.goto(`${t.kw.url}/integrations/new?provider=custom`);
    assert.match(await page.locator('main').innerText(), /Only owners and admins can add integrations/);
    assert.equal(await page.getByRole('button', { name: 'Add integration' }).count(), 0, 'no form that fails with 403');
    await screenshot(page, 'review-member-add');

    await page.goto(`${t.kw.url}/audit`);
    assert.match(await page.locator('main').innerText(), /Only owners and admins can read the audit log/);
    assert.equal(await page.getByRole('button', { name: 'Filter' }).count(), 0);
    assert.equal(await page.locator('.err').count(), 0, 'not an error: a page they may not use');
    await context.close();

    // An owner still has both.
    const owner = await signedInBrowser(browser, t);
    assert.deepEqual(await owner.page.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts(),
      ['Integrations', 'Add integration', 'API keys', 'Members', 'Audit log']);
    await owner.context.close();
  });

  test('dates read as a day and a time in UTC, with the exact time kept for machines', async () => {
    const { context, page } = await signedInBrowser(browser, t);
    const readable = /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/;

    await page.goto(`${t.kw.url}/audit`);
    const at = page.locator('tbody tr').first().locator('td').first();
    assert.match(await at.innerText(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/, 'the audit log shows seconds');
    assert.ok(!Number.isNaN(Date.parse(String(await at.locator('time').getAttribute('datetime')))));

    await page.goto(`${t.kw.url}/members`);
    const joined = page.locator('tbody tr', { hasText: 'admin@localhost' }).locator('td').nth(4);
    assert.match(await joined.innerText(), readable);

    await page.goto(`${t.kw.url}/keys`);
    const created = page.locator('#key-rows tr').first().locator('td').nth(4);
    assert.match(await created.innerText(), readable);
    await screenshot(page, 'review-dates');
    await context.close();
  });

  test('with the keyboard, focus stays in place after Disconnect and Revoke remove the button pressed; an emptied list says it is empty', async () => {
    const ints = await t.api('GET', '/v1/integrations');
    const sandboxId = ints.body.data.find((i: { provider: string }) => i.provider === 'sandbox').id;
    const conn = await connectSandboxAccount(t, sandboxId, 'kim');
    const made = await t.api('POST', '/v1/api-keys', { name: 'Old app' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const { context, page } = await signedInBrowser(browser, t);
    page.on('dialog', (d) => void d.accept());
    const focused = () => page.evaluate(() => {
      const el = document.activeElement;
      return { tag: el?.tagName, text: el?.textContent?.trim(), integration: (el as HTMLElement | null)?.dataset.integration };
    });

    const section = page.locator(`section#${sandboxId}`);
    await section.locator(`li#${conn}`).getByRole('button', { name: 'Disconnect' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('#flash', { hasText: 'Disconnected' }).waitFor(WAIT);
    assert.deepEqual(await focused(), { tag: 'BUTTON', text: 'Connect', integration: sandboxId });
    await section.getByText('No connections on this page yet.').waitFor(WAIT);

    await page.goto(`${t.kw.url}/keys`);
    await page.locator(`tr#${String(made.body.id)}`).getByRole('button', { name: 'Revoke' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('#flash', { hasText: 'Revoked the key "Old app"' }).waitFor(WAIT);
    assert.deepEqual(await focused(), { tag: 'TD', text: 'Revoked', integration: undefined });
    await context.close();
  });

  test('a red connection shared with a member to use only tells them to ask its owner or an admin, not to press a Re-authenticate they do not have', async () => {
    const ints = await t.api('GET', '/v1/integrations');
    const sandboxId = ints.body.data.find((i: { provider: string }) => i.provider === 'sandbox').id;
    const conn = await connectSandboxAccount(t, sandboxId, 'vic');
    assert.equal((await t.api('PATCH', `/v1/connections/${conn}`, { sharing: 'shared', level: 'use' })).status, 200);
    await t.kw.sandbox!.revokeAccountGrants('vic');
    await t.kw.services.store.connections.update(t.kw.orgId, conn, {
      status: 'needs_reauth', statusReason: 'The provider refused the refresh token (invalid_grant).', statusSince: t.clock.now(),
    });
    const una = await invitePerson(t, t.apiKey, 'una@example.com', 'member');
    const member = (await t.kw.services.store.members.get(t.kw.orgId, una.memberId))!;
    const { context, page } = await signedInBrowser(browser, t, { member });
    const item = page.locator(`li#${conn}`);
    assert.equal(await item.locator('.badge').innerText(), 'Needs re-authentication');
    assert.equal(await item.getByRole('button', { name: 'Re-authenticate' }).count(), 0);
    const text = await item.innerText();
    assert.match(text, /invalid_grant[\s\S]*ask its owner or an admin to re-authenticate it/);
    assert.doesNotMatch(text, /press Re-authenticate/);
    await screenshot(page, 'review-member-needs-reauth');

    await item.getByRole('button', { name: 'Refresh' }).click();
    const flash = page.locator('#flash.err', { hasText: 'Refresh failed' });
    await flash.waitFor(WAIT);
    await page.locator('#flash', { hasText: /Ask its owner or an admin to re-authenticate it/ }).waitFor(WAIT);
    assert.doesNotMatch(await flash.innerText(), /Press Re-authenticate/);
    await context.close();
  });

  test('a member who leaves lands on a page that says they left and how to sign in, not on an error about single sign-on', async () => {
    const lee = await invitePerson(t, t.apiKey, 'lee@example.com', 'member');
    const member = (await t.kw.services.store.members.get(t.kw.orgId, lee.memberId))!;
    const { context, page } = await signedInBrowser(browser, t, { member });
    await page.goto(`${t.kw.url}/members`);
    page.once('dialog', (d) => void d.accept());
    await page.locator(`tr#${lee.memberId}`).getByRole('button', { name: 'Leave' }).click();
    await page.getByRole('heading', { name: 'Sign in to Keyway' }).waitFor(WAIT);
    const text = await page.locator('main').innerText();
    assert.match(text, /You left the organization and are signed out/);
    assert.match(text, /npx keyway login-link/);
    assert.doesNotMatch(text, /not configured/);
    await screenshot(page, 'review-left');
    await context.close();
  });

  test('a page link that no longer works (an old cursor, an unknown provider) says so and links the way back', async () => {
    const { context, page } = await signedInBrowser(browser, t);
    for (const [path, link, lands] of [
      ['/integrations?cursor=stale', 'Go to the first page', 'Integrations'],
      ['/keys?cursor=stale', 'Go to the first page', 'API keys'],
      ['/integrations/new?provider=nope', 'See all providers', 'Add integration'],
    ] as const) {
      await page.goto(`${t.kw.url}${path}`);
      assert.equal(await page.getByRole('alert').count(), 1, path);
      await page.getByRole('link', { name: link }).click();
      await page.getByRole('heading', { name: lands, exact: true }).waitFor(WAIT);
      assert.equal(await page.getByRole('alert').count(), 0, `${path}: the way back works`);
    }
    await context.close();
  });

  test('the audit log filters by a time typed as the log shows it', async () => {
    const { context, page } = await signedInBrowser(browser, t);
    await page.goto(`${t.kw.url}/audit`);
    const newest = page.locator('tbody tr').first();
    const shown = await newest.locator('td').first().innerText();
    const action = await newest.locator('td').nth(1).innerText();
    await page.getByLabel(/^Since/).fill(shown);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/since=/);
    assert.equal(await page.getByRole('alert').count(), 0, await page.locator('main').innerText());
    assert.match(await page.locator('tbody').innerText(), new RegExp(action.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.equal(await page.getByLabel(/^Since/).inputValue(), shown, 'the filter keeps what was typed');
    await context.close();
  });
});
