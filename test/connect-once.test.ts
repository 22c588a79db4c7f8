/**
 * A connect (or re-authenticate) link completes once, and its session's final status stays final:
 * a second tab, a late "declined", or a link finished after it expired changes nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { CookieJar, pageText } from './helpers/browserless.ts';
import { type TestKeyway, addIntegration, connectInBrowser, startAndAuthorize, startProvider, startTestKeyway } from './helpers/keyway.ts';

const MIN = 60_000;

describe('a connect link completes once', () => {
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

  const connectionsFor = async (externalId: string) => (await t.api('GET', `/v1/connections?externalId=${externalId}`)).body.data as Array<{ id: string }>;
  const sessionOf = async (id: string) => (await t.api('GET', `/v1/connect-sessions/${id}`)).body;

  /** A connect session, and the link opened in `n` browsers signed in as the given accounts, stopped before Keyway's callback. */
  async function openIn(externalId: string, tabs: Array<{ username: string; decision?: 'allow' | 'deny' }>) {
    const created = await t.api('POST', '/v1/connect-sessions', { integration, externalId });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runs: Array<{ jar: CookieJar; callbackUrl: URL }> = [];
    for (const tab of tabs) {
      const jar = new CookieJar();
      runs.push({ jar, ...(await startAndAuthorize(created.body.connectUrl, provider, jar, tab)) });
    }
    const finish = async (i: number) => {
      const run = runs[i]!;
      const res = await run.jar.fetch(run.callbackUrl);
      return { status: res.status, text: pageText(await res.text()) };
    };
    return { sessionId: created.body.id as string, connectUrl: created.body.connectUrl as string, finish };
  }

  test('two browsers finishing one link make one connection; the second is told the link was already used', async () => {
    const link = await openIn('two-browsers', [{ username: 'alice' }, { username: 'bob' }]);
    const first = await link.finish(0);
    assert.match(first.text, /Connected!/);
    const second = await link.finish(1);
    assert.equal(second.status, 400);
    assert.match(second.text, /This connect link was already used to connect an account; a link works once\. Nothing more was stored\./);
    const conns = await connectionsFor('two-browsers');
    assert.equal(conns.length, 1);
    const s = await sessionOf(link.sessionId);
    assert.equal(s.status, 'connected');
    assert.equal(s.connection, conns[0]!.id);
    const me = await t.api('GET', `/v1/connections/${conns[0]!.id}`);
    assert.equal(me.body.account.subject, 'alice', 'the first connection is the one kept');
  });

  test('two tabs coming back at the same moment: exactly one connects', async () => {
    const link = await openIn('two-tabs', [{ username: 'carol' }, { username: 'carol' }]);
    const pages = await Promise.all([link.finish(0), link.finish(1)]);
    assert.equal(pages.filter((p) => /Connected!/.test(p.text)).length, 1, pages.map((p) => p.text.slice(0, 120)).join(' | '));
    assert.equal(pages.filter((p) => /already used/.test(p.text)).length, 1);
    const conns = await connectionsFor('two-tabs');
    assert.equal(conns.length, 1);
    assert.equal((await sessionOf(link.sessionId)).connection, conns[0]!.id);
  });

  test('a tab that comes back declined after another connected leaves the session connected', async () => {
    const link = await openIn('late-deny', [{ username: 'dora' }, { username: 'dora', decision: 'deny' }]);
    assert.match((await link.finish(0)).text, /Connected!/);
    const late = await link.finish(1);
    assert.equal(late.status, 400);
    assert.match(late.text, /already used/);
    const s = await sessionOf(link.sessionId);
    assert.equal(s.status, 'connected');
    assert.equal(s.error, null);
    assert.equal(s.connection, (await connectionsFor('late-deny'))[0]!.id);
  });

  test('reopening a link that already connected says so (not "do not use the Back button")', async () => {
    const run = await connectInBrowser(t, provider, integration, { username: 'erin', session: { externalId: 'reopen' } });
    assert.match(run.page.text, /Connected!/);
    const again = await new CookieJar().fetch(run.connectUrl);
    assert.equal(again.status, 400);
    const text = pageText(await again.text());
    assert.match(text, /already used to connect an account/);
    assert.doesNotMatch(text, /Back button/);
  });

  test('a declined link stays declined: reopening it, or a tab opened before, connects nothing', async () => {
    const link = await openIn('declined', [{ username: 'fred' }, { username: 'fred', decision: 'deny' }]);
    assert.match((await link.finish(1)).text, /Access was declined/);
    assert.equal((await sessionOf(link.sessionId)).status, 'denied');
    const earlier = await link.finish(0);
    assert.equal(earlier.status, 400);
    assert.match(earlier.text, /This connect link has already ended \(access was declined or the sign-in failed\)/);
    const reopened = await new CookieJar().fetch(link.connectUrl);
    assert.equal(reopened.status, 400);
    assert.match(pageText(await reopened.text()), /has already ended/);
    assert.equal((await connectionsFor('declined')).length, 0);
    const s = await sessionOf(link.sessionId);
    assert.equal(s.status, 'denied');
    assert.equal(s.connection, null);
  });

  test('a re-authentication link finished in two tabs reconnects once; the second tab is told it was already used', async () => {
    const run = await connectInBrowser(t, provider, integration, { username: 'hana', session: { externalId: 'reauth-twice' } });
    assert.match(run.page.text, /Connected!/);
    const id = (await connectionsFor('reauth-twice'))[0]!.id;
    const started = await t.api('POST', `/v1/connections/${id}/reauthorize`);
    const tabs = [new CookieJar(), new CookieJar()];
    const backs: URL[] = [];
    for (const jar of tabs) backs.push((await startAndAuthorize(started.body.connectUrl, provider, jar, { username: 'hana' })).callbackUrl);
    const first = await tabs[0]!.fetch(backs[0]!);
    assert.match(await first.text(), /Reconnected!/);
    const token = (await t.api('GET', `/v1/connections/${id}/token`)).body.accessToken;
    const second = await tabs[1]!.fetch(backs[1]!);
    assert.equal(second.status, 400);
    assert.match(pageText(await second.text()), /already used/);
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).body.accessToken, token, 'the first tab\'s tokens are kept');
    assert.equal((await t.api('GET', `/v1/audit?connection=${id}&action=connection.reauthorize`)).body.data.length, 1);
    assert.equal((await sessionOf(started.body.id)).status, 'connected');
  });

  test('a link the API already reports expired is not completed afterwards', async () => {
    const created = await t.api('POST', '/v1/connect-sessions', { integration, externalId: 'late' });
    t.clock.advance(25 * MIN);
    const jar = new CookieJar();
    const { callbackUrl } = await startAndAuthorize(created.body.connectUrl, provider, jar, { username: 'gina' });
    t.clock.advance(6 * MIN); // the attempt has 4 minutes left; the session ended at minute 30
    assert.equal((await sessionOf(created.body.id)).status, 'expired');
    const res = await jar.fetch(callbackUrl);
    assert.equal(res.status, 400);
    assert.match(pageText(await res.text()), /This connect link has expired/);
    assert.equal((await connectionsFor('late')).length, 0);
    assert.equal((await sessionOf(created.body.id)).status, 'expired');
  });
});
