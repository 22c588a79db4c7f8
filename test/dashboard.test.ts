/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against a real
 * Keyway with the real sandbox authorization server mounted at /sandbox. Screenshots of every page
 * land in test-results/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createLoginLink } from '../src/access/index.ts';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { browserSkipReason, launchBrowser, screenshot, signedInBrowser } from './helpers/browser.ts';
import { outcomePage } from '../src/http/pages/connect-pages.ts';

const skip = browserSkipReason();
const WAIT = { timeout: 20_000 };

describe('dashboard in a browser', { skip }, () => {
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

  /** A fresh browser signed in as the owner (see signedInBrowser). */
  const signedIn = (init?: string): Promise<{ context: BrowserContext; page: Page }> => signedInBrowser(browser, t, init ? { init } : {});

  /** Signs in and answers consent at the sandbox's pages in the popup, until Keyway's result page. */
  async function authorizeIn(popup: Page, decision: 'Allow' | 'Deny', name: string): Promise<string> {
    const result = popup.getByRole('heading', { name: /^(Connected|Reconnected|Not connected)/ });
    for (let step = 0; step < 6; step++) {
      const user = popup.getByLabel('User name');
      const button = popup.getByRole('button', { name: decision, exact: true });
      await user.or(button).or(result).first().waitFor(WAIT);
      if (await result.isVisible()) break;
      if (await user.isVisible()) {
        await screenshot(popup, `${name}-provider-login`);
        await user.fill('alice');
        await popup.getByRole('button', { name: 'Sign in' }).click();
      } else {
        await screenshot(popup, `${name}-provider-consent`);
        await button.click();
      }
      await popup.waitForLoadState();
    }
    await result.waitFor(WAIT);
    await screenshot(popup, `${name}-callback`);
    const text = await popup.locator('body').innerText();
    await popup.close(); // as the page says; a later Connect opens a new window
    return text;
  }

  const section = (page: Page) => page.locator(`section#${sandboxId}`);
  const flash = (page: Page, text: string | RegExp) => page.locator('#flash', { hasText: text }).waitFor(WAIT);
  const connections = async () => (await t.api('GET', `/v1/connections?integration=${sandboxId}`)).body.data as Array<Record<string, unknown>>;

  test('someone not signed in is told how to get a sign-in link', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const res = await page.goto(`${t.kw.url}/integrations`);
    assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    await page.getByRole('heading', { name: 'Sign in to Keyway' }).waitFor(WAIT);
    assert.match(await page.locator('main').innerText(), /npx keyway login-link/);
    await screenshot(page, 'sign-in');
    await context.close();
  });

  test('pressing Sign in on a one-time link page in a real browser signs in and lands on the dashboard', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const owner = (await t.kw.services.store.members.list(t.kw.orgId)).find((m) => m.role === 'owner')!;
    await page.goto((await createLoginLink(t.kw.services, owner, t.kw.url)).url);
    await screenshot(page, 'login-link');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Integrations', exact: true }).waitFor({ timeout: 5000 });
    assert.equal(new URL(page.url()).pathname, '/');
    await context.close();
  });

  test('connect through the popup, see Connected! and green, share, re-authenticate, read the audit log, disconnect', async () => {
    const { context, page } = await signedIn();
    await section(page).getByRole('heading', { name: 'Keyway Sandbox' }).waitFor(WAIT);
    assert.match(await section(page).innerText(), /\/oauth\/callback\//);
    await screenshot(page, 'integrations-empty');

    const popupOpened = page.waitForEvent('popup', WAIT);
    await section(page).getByRole('button', { name: 'Connect', exact: true }).click();
    const popup = await popupOpened;
    assert.match(await authorizeIn(popup, 'Allow', 'connect'), /You can close this tab/);
    await flash(page, 'Connected!');
    const item = section(page).locator('li.conn');
    await item.first().waitFor(WAIT);
    assert.equal(await item.locator('.badge').innerText(), 'Active');
    assert.equal(await item.locator('.badge').evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(18, 115, 58)');
    const [conn] = await connections();
    assert.ok(conn, 'a connection was stored');
    assert.equal(await item.getAttribute('id'), conn.id);
    await screenshot(page, 'integrations-connected');
    await page.setViewportSize({ width: 390, height: 844 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling on a phone');
    await screenshot(page, 'integrations-phone');
    await page.setViewportSize({ width: 1100, height: 900 });

    await item.getByLabel('Sharing').selectOption('shared:use');
    await item.getByRole('button', { name: 'Save sharing' }).click();
    await flash(page, 'Shared with the team (use)');
    assert.equal((await t.api('GET', `/v1/connections/${conn.id}`)).body.sharing, 'shared');

    const reauthPopup = page.waitForEvent('popup', WAIT);
    await section(page).locator('li.conn').getByRole('button', { name: 'Re-authenticate' }).click();
    assert.match(await authorizeIn(await reauthPopup, 'Allow', 'reauth'), /connected again/);
    await flash(page, 'The connection has new tokens');
    assert.equal((await connections()).length, 1, 're-authentication kept the one connection');

    // Two token reads within a second are one entry: the log says how many.
    for (let i = 0; i < 2; i++) assert.equal((await t.api('GET', `/v1/connections/${conn.id}/token`)).status, 200);
    await page.goto(`${t.kw.url}/audit`);
    await page.getByRole('heading', { name: 'Audit log' }).waitFor(WAIT);
    const log = await page.locator('table').innerText();
    for (const action of ['connection.create', 'connection.share', 'connection.reauthorize', 'member.sign_in']) assert.match(log, new RegExp(action.replace('.', '\\.')), action);
    assert.match(log, /token\.read ×2/);
    await page.getByLabel(/^Action/).fill('connection.share');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=connection\.share/);
    const filtered = await page.locator('tbody').innerText();
    assert.match(filtered, /connection\.share/);
    assert.doesNotMatch(filtered, /connection\.create/);
    await screenshot(page, 'audit');

    await page.goto(`${t.kw.url}/integrations`);
    page.once('dialog', (d) => void d.accept());
    await section(page).locator('li.conn').getByRole('button', { name: 'Disconnect' }).click();
    await flash(page, /Disconnected\. The tokens were deleted and revoked at the provider/);
    assert.equal(await section(page).locator('li.conn').count(), 0);
    assert.equal((await connections()).length, 0);
    await screenshot(page, 'integrations-disconnected');
    await context.close();
  });

  test('declining consent: the dashboard says so and nothing is stored', async () => {
    const { context, page } = await signedIn();
    const before = (await connections()).length;
    const shownBefore = await section(page).locator('li.conn').count();
    const popupOpened = page.waitForEvent('popup', WAIT);
    await section(page).getByRole('button', { name: 'Connect', exact: true }).click();
    const callback = await authorizeIn(await popupOpened, 'Deny', 'deny');
    assert.match(callback, /Nothing was stored/);
    assert.match(callback, /What to do: You \(or a policy at the provider\) declined access/);
    await flash(page, /access was declined at the provider\. Nothing was stored/);
    assert.equal(await section(page).locator('li.conn').count(), shownBefore);
    assert.equal((await connections()).length, before);
    await screenshot(page, 'integrations-declined');
    await context.close();
  });

  test('a blocked popup falls back to a link, and the page still turns to Connected!', async () => {
    const { context, page } = await signedIn('window.open = () => null;');
    const before = new Set((await connections()).map((c) => c.id));
    await section(page).getByRole('button', { name: 'Connect', exact: true }).click();
    const link = section(page).getByRole('link', { name: 'Open the sign-in page' });
    await link.waitFor(WAIT);
    assert.match(await section(page).innerText(), /blocked the sign-in window/);
    await screenshot(page, 'popup-blocked');
    const tabOpened = context.waitForEvent('page', WAIT);
    await link.click();
    await authorizeIn(await tabOpened, 'Allow', 'blocked');
    await flash(page, 'Connected!');
    const made = (await connections()).filter((c) => !before.has(c.id));
    assert.equal(made.length, 1, 'one new connection');
    await section(page).locator(`li#${String(made[0]!.id)} .badge`, { hasText: 'Active' }).waitFor(WAIT);

    // Amber and red, as a person meets them: the colour, what happened, and what to do.
    const id = String(made[0]!.id);
    const set = (status: 'refresh_failing' | 'needs_reauth', statusReason: string) =>
      t.kw.services.store.connections.update(t.kw.orgId, id, { status, statusReason, statusSince: t.clock.now() });
    await set('refresh_failing', 'The provider answered 503 twice in a row.');
    await page.reload();
    const item = section(page).locator(`li#${id}`);
    assert.equal(await item.locator('.badge').innerText(), 'Refresh failing');
    assert.equal(await item.locator('.badge').evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(168, 100, 0)');
    assert.match(await item.innerText(), /answered 503 twice[\s\S]*Still working while the current access token lasts/);
    await set('needs_reauth', 'The provider refused the refresh token (invalid_grant).');
    await page.reload();
    assert.equal(await item.locator('.badge').innerText(), 'Needs re-authentication');
    assert.equal(await item.locator('.badge').evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(179, 38, 30)');
    assert.match(await item.innerText(), /invalid_grant[\s\S]*press Re-authenticate and approve access/);
    await screenshot(page, 'integrations-needs-reauth');
    await context.close();
  });

  test('add integration, API keys: the redirect URI and a new key are shown once, with copy buttons; the new key\'s row appears without a reload', async () => {
    const { context, page } = await signedIn();
    await page.getByRole('link', { name: 'Add integration' }).click();
    await page.getByLabel('Search providers').fill('github');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: 'GitHub', exact: true }).click();
    await page.getByRole('heading', { name: 'Set up GitHub' }).waitFor(WAIT);
    await screenshot(page, 'add-integration-github');
    await page.goto(`${t.kw.url}/integrations/new?provider=custom`);
    await page.getByLabel('Name (optional)').fill('In-house <b>OAuth</b>');
    await page.getByLabel('Authorization URL').fill('https://auth.example.com/authorize');
    await page.getByLabel('Token URL').fill('https://auth.example.com/token');
    await page.getByLabel('Client ID').fill('client-1');
    await page.getByLabel('Client secret').fill('secret-1');
    await page.getByLabel(/^Scopes/).fill('read write');
    await page.getByRole('button', { name: 'Add integration' }).click();
    const result = page.locator('[data-result-for="integration"]');
    await result.getByText('Register this redirect URI').waitFor(WAIT);
    const added = (await t.api('GET', '/v1/integrations')).body.data.find((i: { name: string }) => i.name === 'In-house <b>OAuth</b>');
    assert.ok(added, 'the integration was created');
    assert.equal(await result.locator('code').innerText(), added.redirectUri);
    assert.deepEqual(added.scopes, ['read', 'write']);
    assert.equal(added.pushedAuthorization, false, 'the PAR box left unchecked is not sent');
    await screenshot(page, 'add-integration-custom');
    // The PAR box checked for a provider given by URLs only: the API's refusal, with what to do, is shown.
    await page.goto(`${t.kw.url}/integrations/new?provider=custom`);
    await page.getByLabel('Authorization URL').fill('https://auth.example.com/authorize');
    await page.getByLabel('Token URL').fill('https://auth.example.com/token');
    await page.getByLabel('Client ID').fill('client-2');
    await page.getByLabel(/Push authorization requests first/).check();
    await page.getByRole('button', { name: 'Add integration' }).click();
    await page.getByText(/no pushed authorization request \(PAR\) endpoint; give "issuer"/).waitFor(WAIT);
    assert.ok(!(await t.api('GET', '/v1/integrations')).body.data.some((i: { clientId: string }) => i.clientId === 'client-2'), 'nothing was added');
    await page.goto(`${t.kw.url}/integrations`);
    await page.getByRole('heading', { name: 'In-house <b>OAuth</b>' }).waitFor(WAIT);

    await page.goto(`${t.kw.url}/keys`);
    await page.getByLabel('Name').fill('Reporting app');
    await page.getByLabel('Expires').selectOption({ label: 'In 30 days' });
    await page.getByLabel('Integrations it may use').selectOption({ label: 'In-house <b>OAuth</b>' });
    await page.getByLabel(/May read raw tokens/).check();
    await page.getByLabel('Requests a minute').fill('120');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.locator('[data-result-for="key"] code.secret');
    await shown.waitFor(WAIT);
    const key = await shown.innerText();
    // The new key's row is in the table at once, without a reload, and never holds the key. (Read
    // before the key is used, which would fill in its "last used".)
    const row = page.locator('tbody tr', { hasText: 'Reporting app' });
    await row.waitFor(WAIT);
    assert.doesNotMatch(await row.innerText(), new RegExp(key));
    assert.match(await row.innerText(), /never/);
    assert.equal((await t.api('GET', '/v1/connections', undefined, key)).status, 200, 'the key shown works');
    const made = (await t.api('GET', '/v1/api-keys')).body.data.find((k: { name: string }) => k.name === 'Reporting app');
    assert.equal(Date.parse(made.expiresAt) - Date.parse(made.createdAt), 30 * 24 * 60 * 60 * 1000, 'it expires in 30 days');
    assert.equal(await row.locator(`time[datetime="${made.expiresAt}"]`).count(), 1, 'the row shows when it expires');
    assert.deepEqual(made.scope, { integrations: [added.id], connections: [], tokenRead: true, manage: false }, 'the scope chosen in the form');
    assert.equal(made.rateLimitPerMinute, 120);
    const summary = 'In-house <b>OAuth</b> · reads raw tokens · 120 requests a minute';
    assert.ok((await row.innerText()).includes(summary), await row.innerText());
    assert.equal(await row.locator('td').nth(1).innerText(), 'Admin', 'the owner\'s view says whose key it is');
    await page.reload();
    assert.ok((await page.locator('tbody tr', { hasText: 'Reporting app' }).innerText()).includes(summary), 'the same words when the page is drawn by the server');
    assert.equal(await row.locator('td').nth(1).innerText(), 'Admin');
    await screenshot(page, 'keys-created');
    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Revoke' }).click();
    await flash(page, 'Revoked the key "Reporting app"');
    await page.reload();
    assert.doesNotMatch(await page.locator('main').innerText(), new RegExp(key));
    assert.equal((await t.api('GET', '/v1/connections', undefined, key)).status, 401);
    await screenshot(page, 'keys-revoked');
    await context.close();
  });

  test('keys page: Roll gives a new key shown once; the old one keeps working for the grace chosen and its row says it was rolled', async () => {
    const made = await t.api('POST', '/v1/api-keys', { name: 'Nightly sync', rateLimitPerMinute: 90 });
    assert.equal(made.status, 201);
    const { context, page } = await signedIn();
    await page.goto(`${t.kw.url}/keys`);
    const row = page.locator(`tr[id="${made.body.id}"]`);
    await row.getByText('Roll…').click();
    await row.getByLabel('Old key stops').selectOption({ label: 'in a day' });
    await screenshot(page, 'keys-roll-choice');
    page.once('dialog', (d) => {
      assert.match(d.message(), /Roll the key "Nightly sync"\? .* the old one keeps working for a day\./);
      void d.accept();
    });
    const rolledAt = t.clock.now();
    await row.getByRole('button', { name: 'Roll key' }).click();
    await flash(page, 'Rolled the key "Nightly sync". Copy the new key now.');
    const shown = page.locator('[data-result-for="key"] code.secret');
    await shown.waitFor(WAIT);
    const fresh = await shown.innerText();
    assert.match(fresh, /^kw_/);
    assert.equal((await t.api('GET', '/v1/connections', undefined, fresh)).status, 200, 'the new key works');
    assert.equal((await t.api('GET', '/v1/connections', undefined, made.body.key)).status, 200, 'the old one too, for a day');
    const old = (await t.api('GET', `/v1/api-keys/${made.body.id}`)).body;
    assert.equal(old.expiresAt, new Date(rolledAt + 24 * 60 * 60 * 1000).toISOString());
    await page.locator(`tr[id="${old.replacedBy}"]`).waitFor(WAIT);
    assert.match(await page.locator(`tr[id="${made.body.id}"]`).innerText(), /Rolled/);
    assert.equal(await page.locator(`tr[id="${made.body.id}"] details.roll`).count(), 0, 'a rolled key cannot be rolled again');
    assert.match(await page.locator(`tr[id="${old.replacedBy}"]`).innerText(), /90 requests a minute/, 'the new key can do the same');
    await page.reload();
    assert.doesNotMatch(await page.locator('main').innerText(), new RegExp(fresh));
    assert.match(await page.locator(`tr[id="${made.body.id}"]`).innerText(), /Rolled/);
    await screenshot(page, 'keys-rolled');
    await context.close();
  });

  test('a state-changing call with the session cookie but no CSRF token is refused', async () => {
    const { context, page } = await signedIn();
    const status = await page.evaluate(async () => (await fetch('/v1/api-keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x"}' })).status);
    assert.equal(status, 403);
    await context.close();
  });
});

test('the provider errors people meet get plain guidance on the connect result page', () => {
  const page = (providerError: string) => outcomePage({ ok: false, sessionId: 'cs_1', problem: 'provider_error', message: 'The provider reported an error, so nothing was connected.', providerError }, 'https://keyway.example').html;
  assert.match(page('invalid_grant'), /already used or had expired[^<]*do not use the Back button/);
  assert.match(page('consent_required'), /Ask your IT admin to approve this app/);
  assert.match(page('admin_policy_enforced'), /Ask your IT admin to approve this app/);
  assert.match(page('invalid_scope'), /refused one of the permissions \(scopes\)/);
  assert.doesNotMatch(page('some_new_error'), /What to do/);
  assert.match(page('<b>x</b>'), /&lt;b&gt;x&lt;\/b&gt;/);
});
