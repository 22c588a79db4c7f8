/**
 * A connect (or re-authenticate) link completes once, and its session's final status stays final:
 * a second tab, a late "declined", or a link finished after it expired changes nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDefinition } from '../src/catalog/index.ts';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { CookieJar, authorizeWithForms, pageText } from './helpers/browserless.ts';
import { FakeProvider, connectThroughFake } from './helpers/fake-provider.ts';
import { CLIENT_SECRET, type TestKeyway, addIntegration, connectInBrowser, startAndAuthorize, startProvider, startTestKeyway } from './helpers/keyway.ts';
import { auditOf, connectAs, integrationFor, invitePerson } from './helpers/teams.ts';

const MIN = 60_000;

/** A server on 127.0.0.1 answering `handle` with a status (kept in `servers`, to close); its base URL. */
async function serve(servers: Server[], handle: (path: string, body: string) => Promise<number>): Promise<string> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => { void handle(req.url ?? '/', body).then((status) => res.writeHead(status).end()); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

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

describe('a link works only while the member who made it may still finish it', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let integration: string;

  before(async () => {
    provider = await startProvider();
    t = await startTestKeyway();
    integration = await integrationFor(t, provider, t.apiKey, 'creator-client');
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  const ownedBy = async (memberId: string) =>
    (await t.kw.services.store.connections.list(t.kw.orgId, {}, { limit: 200 })).data.filter((c) => c.ownerMemberId === memberId);
  const storedSession = async (id: string) => (await t.kw.services.store.connectSessions.get(t.kw.orgId, id))!;

  /** `key` starts a link (a connect session, or a re-authentication of `reauthorize`) and signs in at the provider as `username`, stopping before Keyway's callback. */
  async function signedIn(key: string, username: string, reauthorize?: string) {
    const started = reauthorize
      ? await t.api('POST', `/v1/connections/${reauthorize}/reauthorize`, {}, key)
      : await t.api('POST', '/v1/connect-sessions', { integration }, key);
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const jar = new CookieJar();
    const { callbackUrl } = await startAndAuthorize(started.body.connectUrl, provider, jar, { username });
    return {
      sessionId: started.body.id as string, connectUrl: started.body.connectUrl as string,
      finish: async () => { const res = await jar.fetch(callbackUrl); return { status: res.status, text: pageText(await res.text()) }; },
    };
  }

  test('a member removed while at the provider cannot finish their connect link: no hidden connection appears', async () => {
    const max = await invitePerson(t, t.apiKey, 'max-s2@example.com');
    const link = await signedIn(max.key, 'max-account');
    assert.equal((await t.api('DELETE', `/v1/members/${max.memberId}`)).status, 200);
    assert.equal((await storedSession(link.sessionId)).error, 'member_removed', 'removing a member ends their pending links');
    const page = await link.finish();
    assert.equal(page.status, 400);
    assert.match(page.text, /You are no longer a member of this organization in Keyway .* Nothing was stored or changed\./);
    assert.deepEqual(await ownedBy(max.memberId), []);
    assert.equal((await storedSession(link.sessionId)).status, 'failed');
  });

  test('a link still pending after its creator was removed (a removal before Keyway ended links) is refused when it completes', async () => {
    const mo = await invitePerson(t, t.apiKey, 'mo-s2@example.com');
    const link = await signedIn(mo.key, 'mo-account');
    assert.equal((await t.api('DELETE', `/v1/members/${mo.memberId}`)).status, 200);
    await t.kw.services.store.connectSessions.update(t.kw.orgId, link.sessionId, { status: 'pending', error: null }); // as an older Keyway left it
    const page = await link.finish();
    assert.equal(page.status, 400);
    assert.match(page.text, /no longer a member/);
    assert.deepEqual(await ownedBy(mo.memberId), []);
    assert.deepEqual([(await storedSession(link.sessionId)).status, (await storedSession(link.sessionId)).error], ['failed', 'member_removed']);
  });

  test('a re-authentication finished after the connection was made personal again does not take it over', async () => {
    const max = await invitePerson(t, t.apiKey, 'max-s1@example.com');
    const id = await connectAs(t, provider, integration, t.apiKey, 'owner-account');
    assert.equal((await t.api('PATCH', `/v1/connections/${id}`, { sharing: 'shared', level: 'manage' })).status, 200);
    const before = (await t.api('GET', `/v1/connections/${id}`)).body;
    const link = await signedIn(max.key, 'max-account', id);
    assert.equal((await t.api('PATCH', `/v1/connections/${id}`, { sharing: 'personal' })).status, 200);
    const page = await link.finish();
    assert.equal(page.status, 400);
    assert.match(page.text, /You no longer have access to manage this connection in Keyway .* Nothing was changed\./);
    const after = await t.api('GET', `/v1/connections/${id}`);
    assert.equal(after.status, 200, 'the owner still sees their connection');
    assert.deepEqual([after.body.owner.id, after.body.account], [before.owner.id, before.account]);
    assert.equal((await t.api('POST', `/v1/connections/${id}/refresh`)).status, 200, 'the owner\'s tokens still work');
    assert.deepEqual([(await storedSession(link.sessionId)).status, (await storedSession(link.sessionId)).error], ['failed', 'access_lost']);
    assert.equal((await auditOf(t, 'connection.transfer')).filter((e) => e.connection === id).length, 0);
  });

  test('a re-authentication by a member removed meanwhile does not transfer the shared connection to them', async () => {
    const max = await invitePerson(t, t.apiKey, 'max-s1b@example.com');
    const id = await connectAs(t, provider, integration, t.apiKey, 'org-account');
    assert.equal((await t.api('PATCH', `/v1/connections/${id}`, { sharing: 'shared', level: 'manage' })).status, 200);
    const link = await signedIn(max.key, 'max-account', id);
    assert.equal((await t.api('DELETE', `/v1/members/${max.memberId}`)).status, 200);
    const page = await link.finish();
    assert.equal(page.status, 400);
    assert.match(page.text, /no longer a member/);
    const c = (await t.api('GET', `/v1/connections/${id}`)).body;
    assert.equal(c.account.subject, 'org-account');
    assert.equal(c.authorizedByFormerMember ?? false, false);
    assert.deepEqual(await ownedBy(max.memberId), []);
  });

  test('opening a re-authentication link after losing access says so at once', async () => {
    const max = await invitePerson(t, t.apiKey, 'max-s1c@example.com');
    const id = await connectAs(t, provider, integration, t.apiKey, 'own-account');
    assert.equal((await t.api('PATCH', `/v1/connections/${id}`, { sharing: 'shared', level: 'manage' })).status, 200);
    const started = await t.api('POST', `/v1/connections/${id}/reauthorize`, {}, max.key);
    assert.equal((await t.api('PATCH', `/v1/connections/${id}`, { sharing: 'shared', level: 'use' })).status, 200);
    const res = await new CookieJar().fetch(started.body.connectUrl);
    assert.equal(res.status, 400);
    assert.match(pageText(await res.text()), /no longer have access to manage this connection/);
    const s = await t.api('GET', `/v1/connect-sessions/${started.body.id}`, undefined, max.key);
    assert.deepEqual([s.body.status, s.body.error], ['failed', 'access_lost']);
  });
});

describe('a re-authentication refused because Keyway could not tell the account leaves the connection working', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let who: FakeProvider;
  let whoAnswers = true;

  before(async () => {
    provider = await startProvider();
    who = await FakeProvider.start(); // the provider's "who am I" endpoint, like GitHub's /user
    who.api = () => (whoAnswers ? { json: { sub: 'ivy', email: 'ivy@example.test' } } : { status: 503, json: { error: 'temporarily_unavailable' } });
    const def = parseDefinition({
      id: 'who-sandbox', name: 'Who Sandbox', authorizationUrl: `${provider.issuer}/auth`, tokenUrl: `${provider.issuer}/token`,
      revocationUrl: `${provider.issuer}/token/revocation`, scopes: { default: ['items:read'] },
      identity: { source: 'userinfo', url: `${who.base}/me`, subject: 'sub', label: 'email' },
    }, 'test');
    t = await startTestKeyway({ extraDefinitions: [def] });
  });
  after(async () => {
    await t.close();
    await provider.close();
    await who.close();
  });

  test('the new tokens are dropped, not revoked: the connection\'s own tokens keep working, as the page promises', async () => {
    const made = await t.api('POST', '/v1/integrations', { provider: 'who-sandbox', clientId: 'who-client', clientSecret: CLIENT_SECRET });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await provider.sandbox.registerClient({ clientId: 'who-client', clientSecret: CLIENT_SECRET, redirectUris: [made.body.redirectUri] });
    const jar = new CookieJar(); // one browser, signed in at the provider as ivy throughout: one grant
    const run = await connectInBrowser(t, provider, made.body.id, { username: 'ivy', jar });
    assert.match(run.page.text, /Connected!/);
    const id = (await t.api('GET', `/v1/connect-sessions/${run.sessionId}`)).body.connection;

    whoAnswers = false;
    const started = await t.api('POST', `/v1/connections/${id}/reauthorize`);
    const { callbackUrl } = await startAndAuthorize(started.body.connectUrl, provider, jar, { username: 'ivy' });
    const page = await jar.fetch(callbackUrl);
    whoAnswers = true;
    assert.equal(page.status, 400);
    assert.match(pageText(await page.text()), /could not tell which account you signed in with\. Nothing was changed\./);

    const refreshed = await t.api('POST', `/v1/connections/${id}/refresh`);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal((await t.api('GET', `/v1/connections/${id}`)).body.status, 'active');
    const refused = (await auditOf(t, 'connection.reauth_refused')).filter((e) => e.connection === id);
    assert.equal(refused[0]?.detail.newTokensRevoked, false);
  });
});

describe('OIDC nonce only with openid', () => {
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

  test('connecting and re-authenticating with scopes that leave out openid send no nonce, and the sandbox accepts them', async () => {
    const run = await connectInBrowser(t, provider, integration, { username: 'jude', session: { scopes: ['items:read'], externalId: 'no-openid' } });
    assert.equal(run.page.status, 200, pageText(run.page.text).slice(0, 300));
    assert.match(run.page.text, /Connected!/);
    const id = (await t.api('GET', '/v1/connections?externalId=no-openid')).body.data[0].id;

    const started = await t.api('POST', `/v1/connections/${id}/reauthorize`, { scopes: ['items:read'] });
    const jar = new CookieJar();
    const opened = await jar.fetch(started.body.connectUrl);
    const authorize = new URL(opened.headers.get('location')!);
    assert.equal(authorize.searchParams.get('scope'), 'items:read');
    assert.equal(authorize.searchParams.get('nonce'), null);
    const { callbackUrl } = await authorizeWithForms(authorize, { username: 'jude', jar, issuer: provider.issuer });
    assert.match(await (await jar.fetch(callbackUrl)).text(), /Reconnected!/);
  });

  test('with openid the nonce is still sent', async () => {
    const created = await t.api('POST', '/v1/connect-sessions', { integration, scopes: ['openid', 'items:read'] });
    const res = await fetch(created.body.connectUrl, { redirect: 'manual' });
    assert.ok(new URL(res.headers.get('location')!).searchParams.get('nonce'));
  });
});

describe('a connection is disconnected once', () => {
  let t: TestKeyway;
  const revoked: string[] = [];
  let hold: Promise<void> | null = null;
  let held = 0;
  let release = (): void => undefined;
  const events: Array<{ type: string; connection: string }> = [];
  const servers: Server[] = [];

  before(async () => {
    // The provider's revocation endpoint: the first request waits while `hold` is set.
    const provider = await serve(servers, async (path, body) => {
      if (path !== '/revoke') return 404;
      revoked.push(new URLSearchParams(body).get('token') ?? '');
      if (hold && held++ === 0) await hold;
      return 200;
    });
    const def = parseDefinition({
      id: 'slow-revoke', name: 'Slow Revoke', authorizationUrl: `${provider}/auth`, tokenUrl: `${provider}/token`,
      revocationUrl: `${provider}/revoke`, scopes: { default: ['read'] },
    }, 'test');
    t = await startTestKeyway({ extraDefinitions: [def] });
    const receiver = await serve(servers, async (_path, body) => {
      const e = JSON.parse(body);
      events.push({ type: e.type, connection: e.data.connection.id });
      return 204;
    });
    assert.equal((await t.api('POST', '/v1/webhooks', { url: `${receiver}/hook` })).status, 201);
  });
  after(async () => {
    await t.close();
    for (const s of servers) { s.closeAllConnections(); s.close(); }
  });

  test('a member disconnecting while a forced integration delete is under way: one event, one audit entry and one revocation per connection', async () => {
    const integration = (await t.api('POST', '/v1/integrations', { provider: 'slow-revoke', clientId: 'slow', clientSecret: CLIENT_SECRET })).body.id;
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const made = await t.api('POST', '/v1/connections', { integration, type: 'oauth2', refreshToken: `rt-${n}`, accessToken: `at-${n}` });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      ids.push(made.body.id);
    }
    hold = new Promise<void>((r) => { release = r; });
    const forced = t.api('DELETE', `/v1/integrations/${integration}?force=true`);
    for (let i = 0; i < 200 && held === 0; i++) await sleep(10);
    assert.equal(held, 1, 'the forced delete is revoking its first connection');
    const left = (await t.api('GET', `/v1/connections?integration=${integration}`)).body.data.map((c: { id: string }) => c.id);
    assert.equal(left.length, 2);
    const mine = left[0];
    assert.equal((await t.api('DELETE', `/v1/connections/${mine}`)).status, 204);
    release();
    assert.equal((await forced).status, 204);

    assert.deepEqual([...revoked].sort(), ['rt-1', 'rt-2', 'rt-3'], 'each refresh token revoked once');
    assert.equal((await auditOf(t, 'connection.delete')).filter((e) => e.connection === mine).length, 1);
    for (let i = 0; i < 200 && events.filter((e) => e.type === 'connection.deleted').length < 3; i++) await sleep(10);
    await sleep(100);
    const deleted = events.filter((e) => e.type === 'connection.deleted').map((e) => e.connection).sort();
    assert.deepEqual(deleted, [...ids].sort(), 'one connection.deleted per connection');
  });
});

describe('re-authenticating a broken connection tells webhooks it recovered', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let integration: string;
  const servers: Server[] = [];
  const events: Array<{ type: string; connection: string; status: string }> = [];

  before(async () => {
    provider = await startProvider();
    t = await startTestKeyway();
    integration = (await addIntegration(t, provider)).id;
    const receiver = await serve(servers, async (_path, body) => {
      const e = JSON.parse(body);
      events.push({ type: e.type, connection: e.data.connection.id, status: e.data.connection.status });
      return 204;
    });
    const reg = await t.api('POST', '/v1/webhooks', { url: `${receiver}/hook`, events: ['connection.needs_reauth', 'connection.recovered'] });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
  });
  after(async () => {
    await t.close();
    await provider.close();
    for (const s of servers) { s.closeAllConnections(); s.close(); }
  });

  const eventsFor = async (id: string, n: number) => {
    for (let i = 0; i < 200 && events.filter((e) => e.connection === id).length < n; i++) await sleep(10);
    return events.filter((e) => e.connection === id).map((e) => `${e.type}:${e.status}`);
  };

  test('needs_reauth, then reconnected: connection.recovered is sent (docs/webhooks.md)', async () => {
    const run = await connectInBrowser(t, provider, integration, { username: 'kim', session: { externalId: 'recover' } });
    assert.match(run.page.text, /Connected!/);
    const id = (await t.api('GET', '/v1/connections?externalId=recover')).body.data[0].id;
    await provider.sandbox.revokeAccountGrants('kim');
    t.clock.advance(6 * MIN);
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 409);
    assert.deepEqual(await eventsFor(id, 1), ['connection.needs_reauth:needs_reauth']);

    const started = await t.api('POST', `/v1/connections/${id}/reauthorize`);
    const jar = new CookieJar();
    const { callbackUrl } = await startAndAuthorize(started.body.connectUrl, provider, jar, { username: 'kim' });
    assert.match(await (await jar.fetch(callbackUrl)).text(), /Reconnected!/);
    assert.deepEqual(await eventsFor(id, 2), ['connection.needs_reauth:needs_reauth', 'connection.recovered:active']);
  });
});

describe('what the person is told: the provider\'s own words (never a library code) and the integration\'s own name', () => {
  let t: TestKeyway;
  let fake: FakeProvider;
  let integration: string;

  before(async () => {
    fake = await FakeProvider.start();
    t = await startTestKeyway();
    const made = await t.api('POST', '/v1/integrations', {
      provider: 'custom', name: 'Acme CRM', clientId: 'acme', clientSecret: CLIENT_SECRET, scopes: ['read'],
      authorizationUrl: `${fake.base}/authorize`, tokenUrl: `${fake.base}/token`,
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    integration = made.body.id;
  });
  after(async () => {
    await t.close();
    await fake.close();
  });

  /** Opens a connect link and comes back to Keyway's callback with `back`'s parameters (plus the state). */
  async function comeBack(back: Record<string, string>) {
    const created = await t.api('POST', '/v1/connect-sessions', { integration });
    const jar = new CookieJar();
    const authorize = new URL((await jar.fetch(created.body.connectUrl)).headers.get('location')!);
    const callback = new URL(authorize.searchParams.get('redirect_uri')!);
    for (const [k, v] of Object.entries({ ...back, state: authorize.searchParams.get('state')! })) callback.searchParams.set(k, v);
    const res = await jar.fetch(callback);
    const html = await res.text();
    return { status: res.status, html, text: pageText(html), session: (await t.api('GET', `/v1/connect-sessions/${created.body.id}`)).body };
  }

  test('a token endpoint answering an HTML page or an unusable token shows no oauth4webapi code, as provider words or session error', async () => {
    for (const answer of [{ text: '<html>sign in</html>' }, { json: { token_type: 'bearer' } }, { json: { access_token: 'at', token_type: 'mac' } }]) {
      fake.token = () => answer;
      const run = await connectThroughFake(t, integration);
      assert.equal(run.page.status, 400);
      const text = pageText(run.page.text);
      assert.doesNotMatch(text, /OAUTH_|Provider said|unexpectedly/, text);
      assert.match(text, /The provider did not complete the sign-in/);
      assert.deepEqual([run.session.status, run.session.error], ['failed', 'exchange_failed']);
    }
  });

  test('a token endpoint error shows the provider\'s error and description, cleaned and escaped', async () => {
    fake.token = () => ({ status: 400, json: { error: 'invalid_grant', error_description: 'The code\u0000 has\n expired <b>now</b>' } });
    const run = await connectThroughFake(t, integration);
    assert.match(run.page.text, /Provider said: <code>invalid_grant<\/code>: The code has expired &lt;b&gt;now&lt;\/b&gt;/);
    assert.deepEqual([run.session.status, run.session.error], ['failed', 'invalid_grant']);
  });

  test('an error sent back to the callback shows its description too (why the provider refused)', async () => {
    const back = await comeBack({ error: 'invalid_request', error_description: 'openid scope must be requested when using the nonce parameter' });
    assert.equal(back.status, 400);
    assert.match(back.text, /Provider said: invalid_request ?: openid scope must be requested when using the nonce parameter/);
    assert.deepEqual([back.session.status, back.session.error], ['failed', 'invalid_request']);
    const long = await comeBack({ error: 'server_error', error_description: 'x'.repeat(5000) });
    assert.ok(long.html.length < 8000, 'a description is bounded');
  });

  test('a custom integration is called by its own name on the success pages and in the default connection name', async () => {
    fake.token = () => ({ json: { access_token: 'at-acme', token_type: 'bearer', expires_in: 3600 } });
    const run = await connectThroughFake(t, integration);
    assert.match(run.page.text, /Acme CRM is connected\./);
    assert.doesNotMatch(run.page.text, /Custom OAuth/);
    assert.equal(run.connection.name, 'Acme CRM');
    const started = await t.api('POST', `/v1/connections/${run.connection.id}/reauthorize`);
    const jar = new CookieJar();
    const consent = await jar.fetch((await jar.fetch(started.body.connectUrl)).headers.get('location')!);
    const again = await jar.fetch(consent.headers.get('location')!);
    assert.match(await again.text(), /Acme CRM is connected again/);
  });

  test('coming back with neither a code nor an error says so, not "could not be exchanged"', async () => {
    const back = await comeBack({});
    assert.equal(back.status, 400);
    assert.match(back.text, /without an authorization code/);
    assert.doesNotMatch(back.text, /callbackParameters|could not be exchanged/);
    assert.deepEqual([back.session.status, back.session.error], ['failed', 'code_missing']);
  });
});
