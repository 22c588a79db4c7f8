import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { createLoginLink } from '../src/access/index.ts';
import { type TestKeyway, startProvider, startTestKeyway } from './helpers/keyway.ts';
import { CookieJar, authorizeWithForms } from './helpers/browserless.ts';
import { auditOf, followLink, sessionApi } from './helpers/teams.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const SSO_SECRET = 'sso-client-secret-4e8b1f';
const HOUR = 3_600_000;

/** Opens /auth/login (or a given start) in `jar`, signs in at the sandbox as `username`; returns the callback URL unrequested. */
async function throughProvider(t: TestKeyway, provider: SandboxServer, jar: CookieJar, username: string, start = `${t.kw.url}/auth/login`, init: RequestInit = {}): Promise<URL> {
  const res = await jar.fetch(start, init);
  const location = res.headers.get('location');
  assert.ok(res.status === 302 || res.status === 303, `${res.status}: ${await res.text()}`);
  assert.ok(location?.startsWith(provider.issuer), location ?? 'no location');
  const { callbackUrl } = await authorizeWithForms(location!, { username, jar, issuer: provider.issuer });
  assert.equal(callbackUrl.origin + callbackUrl.pathname, `${t.kw.url}/auth/callback`);
  return callbackUrl;
}

function sessionCookie(res: Response): string | undefined {
  return res.headers.getSetCookie().find((c) => c.startsWith('keyway_session=') || c.startsWith('__Host-keyway_session='));
}

describe('sign-in: single sign-on, one-time links, sessions', () => {
  let provider: SandboxServer;
  let t: TestKeyway;
  const secrets: string[] = [];

  before(async () => {
    provider = await startProvider();
    t = await startTestKeyway({ env: { KEYWAY_OIDC_ISSUER: provider.issuer, KEYWAY_OIDC_CLIENT_ID: 'keyway-sso', KEYWAY_OIDC_CLIENT_SECRET: SSO_SECRET } });
    await provider.sandbox.registerClient({ clientId: 'keyway-sso', clientSecret: SSO_SECRET, redirectUris: [`${t.kw.url}/auth/callback`] });
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  test('an invite is accepted by signing in at the identity provider (code + PKCE S256 + nonce + state) as the invited email', async () => {
    const inv = await t.api('POST', '/v1/invites', { email: 'alice@sandbox.keyway.test', role: 'admin' });
    const jar = new CookieJar();
    const res = await jar.fetch(inv.body.inviteUrl, { method: 'POST' });
    const auth = new URL(res.headers.get('location')!);
    const p = auth.searchParams;
    assert.deepEqual([p.get('response_type'), p.get('code_challenge_method'), p.get('client_id')], ['code', 'S256', 'keyway-sso']);
    assert.ok(p.get('code_challenge') && p.get('state') && p.get('nonce'));
    assert.deepEqual(p.get('scope')?.split(' ').sort(), ['email', 'openid', 'profile']);
    assert.equal(p.get('redirect_uri'), `${t.kw.url}/auth/callback`);
    const binding = res.headers.getSetCookie().find((c) => c.startsWith('kw_si_'));
    assert.match(binding ?? '', /Path=\/auth\/callback; HttpOnly; SameSite=Lax/);
    const { callbackUrl } = await authorizeWithForms(auth, { username: 'alice', jar, issuer: provider.issuer });
    secrets.push(callbackUrl.searchParams.get('code')!, callbackUrl.searchParams.get('state')!);
    const done = await jar.fetch(callbackUrl);
    assert.equal(done.status, 303, await done.clone().text());
    assert.equal(done.headers.get('location'), '/', 'a completed sign-in lands on the dashboard');
    secrets.push(jar.get('keyway_session')!);
    const me = await sessionApi(t, jar, 'GET', '/v1/me');
    assert.deepEqual([me.body.member.email, me.body.role, me.body.member.singleSignOn, me.body.via], ['alice@sandbox.keyway.test', 'admin', true, 'session']);
    const page = await (await jar.fetch(`${t.kw.url}/auth/signed-in`)).text();
    assert.match(page, /alice@sandbox\.keyway\.test/);
    const replay = await jar.fetch(callbackUrl);
    assert.equal(replay.status, 400, 'the state works once');
    assert.match(await replay.text(), /finished already/);
  });

  test('signing in again matches the recorded identity, and rotates the session: the old cookie stops working', async () => {
    const jar = new CookieJar();
    await jar.fetch(await throughProvider(t, provider, jar, 'alice'));
    const first = jar.get('keyway_session')!;
    const second = await jar.fetch(await throughProvider(t, provider, jar, 'alice'));
    assert.equal(second.status, 303);
    const rotated = jar.get('keyway_session')!;
    assert.notEqual(rotated, first);
    secrets.push(first, rotated);
    const stale = new CookieJar();
    stale.store(t.kw.url, new Response(null, { headers: { 'set-cookie': `keyway_session=${first}; Path=/` } }));
    assert.equal((await sessionApi(t, stale, 'GET', '/v1/me')).status, 401);
    assert.equal((await sessionApi(t, jar, 'GET', '/v1/me')).body.member.email, 'alice@sandbox.keyway.test');
    const signIns = (await auditOf(t, 'member.sign_in')).filter((e) => e.detail.method === 'oidc');
    assert.ok(signIns.length >= 3);
  });

  test('a verified email matches a member who never used single sign-on; an unknown person is refused', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'org', 'create', 'Bob Co', '--owner-email', 'bob@sandbox.keyway.test', '--data-dir', t.dataDir],
      { env: { ...process.env, KEYWAY_PUBLIC_URL: t.kw.url } });
    const orgId = /Organization: (org_\S+)/.exec(stdout)![1];
    const jar = new CookieJar();
    assert.equal((await jar.fetch(await throughProvider(t, provider, jar, 'bob'))).status, 303);
    const me = await sessionApi(t, jar, 'GET', '/v1/me');
    assert.deepEqual([me.body.org.id, me.body.role, me.body.member.singleSignOn], [orgId, 'owner', true]);

    const stranger = new CookieJar();
    const refused = await stranger.fetch(await throughProvider(t, provider, stranger, 'mallory'));
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /no member/);
    assert.equal(sessionCookie(refused), undefined);
  });

  test('an invite cannot be taken by another identity, and a sign-in finished in another browser is refused', async () => {
    const inv = await t.api('POST', '/v1/invites', { email: 'carol@sandbox.keyway.test' });
    const jar = new CookieJar();
    const wrong = await jar.fetch(await throughProvider(t, provider, jar, 'dave', inv.body.inviteUrl, { method: 'POST' }));
    assert.equal(wrong.status, 403);
    assert.match(await wrong.text(), /invite is for carol@sandbox\.keyway\.test/);
    assert.equal((await fetch(inv.body.inviteUrl)).status, 200, 'the invite is still open for Carol');

    const started = new CookieJar();
    const callback = await throughProvider(t, provider, started, 'alice');
    const otherBrowser = await new CookieJar().fetch(callback);
    assert.equal(otherBrowser.status, 400);
    assert.match(await otherBrowser.text(), /another browser/);
  });

  test('`keyway login-link` prints a link that signs in once and expires after 15 minutes', async () => {
    const cli = async () => (await run(process.execPath, [CLI, 'login-link', '--email', 'Admin@Localhost', '--data-dir', t.dataDir],
      { env: { ...process.env, KEYWAY_PUBLIC_URL: t.kw.url } })).stdout.trim();
    const link = await cli();
    assert.match(link, new RegExp(`^${t.kw.url}/auth/link/[A-Za-z0-9_-]{43}$`));
    secrets.push(link.split('/').pop()!);
    const signed = await followLink(t, link);
    assert.equal((await sessionApi(t, signed.jar, 'GET', '/v1/me')).body.member.email, 'admin@localhost');
    assert.equal((await new CookieJar().fetch(link, { method: 'POST' })).status, 400, 'used once');

    const late = await cli();
    const before = t.clock.now();
    t.clock.set(Date.now() + 15 * 60_000 + 1000); // the CLI stamped the link with the real time
    try {
      const res = await new CookieJar().fetch(late, { method: 'POST' });
      assert.equal(res.status, 400);
      assert.match(await res.text(), /expired/);
      assert.equal(sessionCookie(res), undefined);
    } finally {
      t.clock.set(before);
    }
  });

  test('the session cookie is HttpOnly, SameSite=Lax, Path=/, and carries only a random id (its hash is stored)', async () => {
    const owner = (await t.kw.services.store.members.list(t.kw.orgId))[0]!;
    const { url } = await createLoginLink(t.kw.services, owner, t.kw.url);
    const jar = new CookieJar();
    await jar.fetch(url);
    const res = await jar.fetch(url, { method: 'POST' });
    const set = sessionCookie(res)!;
    assert.match(set, /^keyway_session=[A-Za-z0-9_-]{43}; Max-Age=604800; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.ok(!/Secure/.test(set), 'plain http (development): no Secure flag');
    const secret = jar.get('keyway_session')!;
    const stored = await t.kw.services.sessions.resolve(secret);
    assert.ok(stored && stored.hash !== secret && !stored.hash.includes(secret));
  });

  test('over https the cookie is Secure and __Host- prefixed', async () => {
    const https = await startTestKeyway({ env: { KEYWAY_PUBLIC_URL: 'https://keyway.example.test' } });
    try {
      const owner = (await https.kw.services.store.members.list(https.kw.orgId))[0]!;
      const { url } = await createLoginLink(https.kw.services, owner, https.kw.url);
      const res = await fetch(url, { method: 'POST', redirect: 'manual' });
      assert.equal(res.status, 303);
      assert.match(sessionCookie(res) ?? '', /^__Host-keyway_session=[A-Za-z0-9_-]{43}; Max-Age=604800; Path=\/; HttpOnly; SameSite=Lax; Secure$/);
    } finally {
      await https.close();
    }
  });

  test('a session ends after 12 idle hours, and after 7 days however busy', async () => {
    const owner = (await t.kw.services.store.members.list(t.kw.orgId))[0]!;
    const idle = await followLink(t, (await createLoginLink(t.kw.services, owner, t.kw.url)).url);
    const busy = await followLink(t, (await createLoginLink(t.kw.services, owner, t.kw.url)).url);
    const start = t.clock.now();
    try {
      t.clock.advance(11 * HOUR);
      assert.equal((await sessionApi(t, busy.jar, 'GET', '/v1/me')).status, 200);
      t.clock.advance(HOUR + 60_000);
      assert.equal((await sessionApi(t, idle.jar, 'GET', '/v1/me')).status, 401, 'idle for 12 hours');
      assert.equal((await sessionApi(t, busy.jar, 'GET', '/v1/me')).status, 200, 'used an hour ago');
      let status = 200;
      for (let i = 0; i < 20 && status === 200; i++) {
        t.clock.advance(11 * HOUR);
        status = (await sessionApi(t, busy.jar, 'GET', '/v1/me')).status;
      }
      assert.equal(status, 401);
      assert.ok(t.clock.now() - start >= 7 * 24 * HOUR, 'it lasted until its absolute end');
    } finally {
      t.clock.set(start);
    }
  });

  test('a cookie-authenticated change needs the CSRF token and Keyway\'s own Origin; reads do not', async () => {
    const owner = (await t.kw.services.store.members.list(t.kw.orgId))[0]!;
    const s = await followLink(t, (await createLoginLink(t.kw.services, owner, t.kw.url)).url);
    secrets.push(s.csrf);
    assert.equal((await sessionApi(t, s.jar, 'GET', '/v1/connections')).status, 200);
    const none = await sessionApi(t, s.jar, 'POST', '/v1/api-keys', { name: 'csrf?' });
    assert.equal(none.status, 403);
    assert.match(none.body.error.message, /X-Keyway-CSRF/);
    assert.equal((await sessionApi(t, s.jar, 'POST', '/v1/api-keys', { name: 'csrf?' }, 'x'.repeat(43))).status, 403);
    const foreign = await sessionApi(t, s.jar, 'POST', '/v1/api-keys', { name: 'csrf?' }, s.csrf, { origin: 'https://evil.example' });
    assert.equal(foreign.status, 403);
    assert.match(foreign.body.error.message, /another site/);
    const ok = await sessionApi(t, s.jar, 'POST', '/v1/api-keys', { name: 'from the dashboard', scope: { tokenRead: true } }, s.csrf, { origin: t.kw.url });
    assert.equal(ok.status, 201);
    secrets.push(ok.body.key);
    const token = await sessionApi(t, s.jar, 'GET', '/v1/connections/conn_none/token');
    assert.equal(token.status, 403, 'a session never reads raw tokens');
    const created = (await auditOf(t, 'api_key.create')).find((e) => e.detail.key === ok.body.id);
    assert.deepEqual(created?.actor, { type: 'member', id: s.memberId });
  });

  test('signing out ends the session (with the CSRF token only) and clears the cookie', async () => {
    const owner = (await t.kw.services.store.members.list(t.kw.orgId))[0]!;
    const s = await followLink(t, (await createLoginLink(t.kw.services, owner, t.kw.url)).url);
    const forged = await s.jar.fetch(`${t.kw.url}/auth/logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'csrf=wrong' });
    assert.equal(forged.status, 403);
    assert.equal((await sessionApi(t, s.jar, 'GET', '/v1/me')).status, 200, 'still signed in');
    const secret = s.jar.get('keyway_session')!;
    const out = await s.jar.fetch(`${t.kw.url}/auth/logout`, { method: 'POST', headers: { 'x-keyway-csrf': s.csrf } });
    assert.equal(out.status, 204);
    assert.match(sessionCookie(out) ?? '', /^keyway_session=; Max-Age=0/);
    const stale = new CookieJar();
    stale.store(t.kw.url, new Response(null, { headers: { 'set-cookie': `keyway_session=${secret}; Path=/` } }));
    assert.equal((await sessionApi(t, stale, 'GET', '/v1/me')).status, 401);
    // The signed-in page's own form signs out too (its hidden field carries the token).
    const again = await followLink(t, (await createLoginLink(t.kw.services, owner, t.kw.url)).url);
    const page = await (await again.jar.fetch(`${t.kw.url}/auth/signed-in`)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
    const form = await again.jar.fetch(`${t.kw.url}/auth/logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.kw.url }, body: `csrf=${csrf}` });
    assert.equal(form.status, 303);
    assert.equal((await sessionApi(t, again.jar, 'GET', '/v1/me')).status, 401);
  });

  test('no session id, link token, code, state, CSRF token or key reached the logs', () => {
    const logs = t.logs.text();
    assert.ok(logs.includes('request completed'), 'logs were captured');
    assert.ok(secrets.length >= 8);
    for (const s of secrets) assert.equal(logs.includes(s), false, `a secret (${s.slice(0, 4)}…) is in the logs`);
    assert.equal(logs.includes(SSO_SECRET), false);
  });
});
