/**
 * A real browser for the dashboard tests: playwright-core driving Debian's chromium. Absent
 * chromium skips the tests with the reason, except in CI (CI set), where it is an error.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { createLoginLink } from '../../src/access/index.ts';
import { sessionCookieName } from '../../src/http/auth.ts';
import type { MemberRecord } from '../../src/store/index.ts';
import { CookieJar, authorizeWithForms } from './browserless.ts';
import type { TestKeyway } from './keyway.ts';
import { followLink } from './teams.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-results');

/** Why the browser tests cannot run here, or false when they can. Throws in CI without chromium. */
export function browserSkipReason(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing; .ci/run installs Debian's chromium package.`);
  return `${CHROMIUM} is not installed (apt-get install -y chromium); the browser tests need it.`;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30_000,
  });
}

/** A full-page screenshot in test-results/, for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `dashboard-${name}.png`), fullPage: true });
}

/** Context size the dashboard tests use (a laptop window). */
const VIEWPORT = { width: 1100, height: 900 };

/**
 * A fresh browser signed in as `member` (default: the organization's owner) with a one-time link,
 * as `keyway login-link` makes it. The link's button is pressed without a browser and the session
 * cookie it set is handed to the browser; lands on the Integrations page.
 */
export async function signedInBrowser(browser: Browser, t: TestKeyway, opts: { member?: MemberRecord; init?: string } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  if (opts.init) await context.addInitScript(opts.init);
  const page = await context.newPage();
  const member = opts.member ?? (await t.kw.services.store.members.list(t.kw.orgId)).find((m) => m.role === 'owner')!;
  const { jar } = await followLink(t, (await createLoginLink(t.kw.services, member, t.kw.url)).url);
  const name = sessionCookieName(t.kw.url);
  await context.addCookies([{ name, value: jar.get(name)!, url: t.kw.url, httpOnly: true, sameSite: 'Lax' }]);
  await page.goto(`${t.kw.url}/`);
  await page.getByRole('heading', { name: 'Integrations', exact: true }).waitFor({ timeout: 20_000 });
  return { context, page };
}

/**
 * Connects the mounted sandbox's account `username` to `integration` without a browser window
 * as a personal connection of the key's member (default: the bootstrap owner's key). Returns the connection id.
 */
export async function connectSandboxAccount(t: TestKeyway, integration: string, username: string, key = t.apiKey): Promise<string> {
  const created = await t.api('POST', '/v1/connect-sessions', { integration }, key);
  if (created.status !== 201) throw new Error(`connect session failed: ${JSON.stringify(created.body)}`);
  const jar = new CookieJar();
  const first = await jar.fetch(created.body.connectUrl);
  const location = first.headers.get('location');
  if (first.status !== 302 || !location) throw new Error(`connect link answered ${first.status}`);
  const { callbackUrl } = await authorizeWithForms(location, { username, decision: 'allow', jar, issuer: `${t.kw.url}/sandbox` });
  await (await jar.fetch(callbackUrl)).text();
  const session = await t.api('GET', `/v1/connect-sessions/${created.body.id}`, undefined, key);
  if (session.body.status !== 'connected') throw new Error(`not connected: ${JSON.stringify(session.body)}`);
  return String(session.body.connection);
}
