/**
 * Single sign-on with pushed authorization requests (RFC 9126): with KEYWAY_OIDC_PAR=1 the sign-in's
 * authorization request is POSTed to the identity provider first, and the browser carries only
 * `client_id` and `request_uri`. The identity provider is oidc-provider (the sandbox) with a client
 * that must push its requests; a provider without a PAR endpoint is a small discovery document
 * served on 127.0.0.1 (what the sandbox cannot be made to lack).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/core/config.ts';
import { startProvider, startTestKeyway } from './helpers/keyway.ts';
import { CookieJar, authorizeWithForms } from './helpers/browserless.ts';
import { sessionApi } from './helpers/teams.ts';

const SSO_SECRET = 'sso-par-client-secret-93d1';

test('KEYWAY_OIDC_PAR=1: the browser carries only client_id and request_uri, and the person is signed in', async () => {
  const provider = await startProvider();
  const t = await startTestKeyway({ env: { KEYWAY_OIDC_ISSUER: provider.issuer, KEYWAY_OIDC_CLIENT_ID: 'keyway-sso-par', KEYWAY_OIDC_CLIENT_SECRET: SSO_SECRET, KEYWAY_OIDC_PAR: '1' } });
  try {
    await provider.sandbox.registerClient({ clientId: 'keyway-sso-par', clientSecret: SSO_SECRET, redirectUris: [`${t.kw.url}/auth/callback`], requirePushedAuthorization: true });
    const invite = await t.api('POST', '/v1/invites', { email: 'alice@sandbox.keyway.test', role: 'member' });
    const jar = new CookieJar();
    const started = await jar.fetch(invite.body.inviteUrl, { method: 'POST' });
    assert.ok(started.status === 302 || started.status === 303, `${started.status}: ${await started.text()}`);
    const to = new URL(started.headers.get('location')!);
    assert.equal(`${to.origin}${to.pathname}`, `${provider.issuer}/auth`);
    // Nothing of the request itself in the browser: no state, nonce, PKCE challenge or redirect URI.
    assert.deepEqual([...to.searchParams.keys()].sort(), ['client_id', 'request_uri']);
    assert.equal(to.searchParams.get('client_id'), 'keyway-sso-par');
    assert.match(to.searchParams.get('request_uri')!, /^urn:ietf:params:oauth:request_uri:/);
    const { callbackUrl } = await authorizeWithForms(to, { username: 'alice', jar, issuer: provider.issuer });
    const done = await jar.fetch(callbackUrl);
    assert.equal(done.status, 303, await done.clone().text());
    const me = await sessionApi(t, jar, 'GET', '/v1/me');
    assert.deepEqual([me.body.member.email, me.body.role, me.body.member.singleSignOn], ['alice@sandbox.keyway.test', 'member', true]);
  } finally {
    await t.close();
    await provider.close();
  }
});

test('without KEYWAY_OIDC_PAR a sign-in is sent the usual way, with its parameters in the browser', async () => {
  const provider = await startProvider();
  const t = await startTestKeyway({ env: { KEYWAY_OIDC_ISSUER: provider.issuer, KEYWAY_OIDC_CLIENT_ID: 'keyway-sso-plain', KEYWAY_OIDC_CLIENT_SECRET: SSO_SECRET } });
  try {
    await provider.sandbox.registerClient({ clientId: 'keyway-sso-plain', clientSecret: SSO_SECRET, redirectUris: [`${t.kw.url}/auth/callback`] });
    const res = await fetch(`${t.kw.url}/auth/login`, { redirect: 'manual' });
    const to = new URL(res.headers.get('location')!);
    assert.equal(to.searchParams.get('request_uri'), null);
    assert.ok(to.searchParams.get('state') && to.searchParams.get('code_challenge'));
  } finally {
    await t.close();
    await provider.close();
  }
});

/** A discovery document on 127.0.0.1 (plus a PAR endpoint when `par`), recording every request it gets. */
async function fakeIdentityProvider(par: { required: boolean } | null) {
  const seen: Array<{ line: string; auth: string | undefined; body: URLSearchParams }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ line: `${req.method} ${req.url}`, auth: req.headers.authorization, body: new URLSearchParams(Buffer.concat(chunks).toString()) });
      if (req.url === '/.well-known/openid-configuration') {
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'],
          ...(par ? { pushed_authorization_request_endpoint: `${issuer}/par`, require_pushed_authorization_requests: par.required } : {}),
        }));
      }
      if (par && req.method === 'POST' && req.url === '/par') {
        return void res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ request_uri: 'urn:ietf:params:oauth:request_uri:fake-1', expires_in: 60 }));
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { issuer, seen, close: () => new Promise((resolve) => server.close(resolve)) };
}

test('KEYWAY_OIDC_PAR unset: a sign-in is pushed when the identity provider\'s metadata requires it', async () => {
  const idp = await fakeIdentityProvider({ required: true });
  const t = await startTestKeyway({ env: { KEYWAY_OIDC_ISSUER: idp.issuer, KEYWAY_OIDC_CLIENT_ID: 'keyway-sso', KEYWAY_OIDC_CLIENT_SECRET: SSO_SECRET } });
  try {
    const res = await fetch(`${t.kw.url}/auth/login`, { redirect: 'manual' });
    assert.equal(res.status, 302, await res.clone().text());
    const to = new URL(res.headers.get('location')!);
    assert.equal(`${to.origin}${to.pathname}`, `${idp.issuer}/auth`);
    assert.deepEqual(Object.fromEntries(to.searchParams), { client_id: 'keyway-sso', request_uri: 'urn:ietf:params:oauth:request_uri:fake-1' });
    const pushed = idp.seen.find((r) => r.line === 'POST /par');
    assert.ok(pushed, idp.seen.map((r) => r.line).join(', '));
    // client_secret_basic: id and secret form-encoded, then Base64 (RFC 6749 §2.3.1).
    const basic = Buffer.from(pushed.auth?.replace(/^Basic /, '') ?? '', 'base64').toString().split(':').map(decodeURIComponent);
    assert.deepEqual(basic, ['keyway-sso', SSO_SECRET], 'the push is client-authenticated');
    assert.equal(pushed.body.get('redirect_uri'), `${t.kw.url}/auth/callback`);
    assert.equal(pushed.body.get('code_challenge_method'), 'S256');
    assert.ok(pushed.body.get('state') && pushed.body.get('nonce') && pushed.body.get('code_challenge'));
  } finally {
    await t.close();
    await idp.close();
  }
});

test('KEYWAY_OIDC_PAR=1 with an identity provider that has no PAR endpoint: sign-in says what to change, nothing is sent', async () => {
  const idp = await fakeIdentityProvider(null);
  const t = await startTestKeyway({ env: { KEYWAY_OIDC_ISSUER: idp.issuer, KEYWAY_OIDC_CLIENT_ID: 'keyway-sso', KEYWAY_OIDC_CLIENT_SECRET: SSO_SECRET, KEYWAY_OIDC_PAR: '1' } });
  try {
    const res = await fetch(`${t.kw.url}/auth/login`, { redirect: 'manual' });
    assert.equal(res.headers.get('location'), null);
    assert.ok(res.status >= 500, String(res.status));
    const page = await res.text();
    assert.match(page, /KEYWAY_OIDC_PAR is on, but the identity provider at http:\/\/127\.0\.0\.1:\d+ publishes no pushed authorization request endpoint\. Turn PAR on at the provider, or unset KEYWAY_OIDC_PAR\./);
    assert.ok(!page.includes(SSO_SECRET));
    assert.deepEqual(idp.seen.map((r) => r.line), ['GET /.well-known/openid-configuration'], 'only discovery: no authorization request went anywhere');
  } finally {
    await t.close();
    await idp.close();
  }
});

test('KEYWAY_OIDC_PAR accepts 1 or 0 (or unset: when the provider requires it) and refuses anything else', () => {
  const base = { KEYWAY_OIDC_ISSUER: 'https://login.example.com', KEYWAY_OIDC_CLIENT_ID: 'keyway' };
  assert.equal(loadConfig(base).oidc?.pushedAuthorization, null);
  assert.equal(loadConfig({ ...base, KEYWAY_OIDC_PAR: '1' }).oidc?.pushedAuthorization, true);
  assert.equal(loadConfig({ ...base, KEYWAY_OIDC_PAR: '0' }).oidc?.pushedAuthorization, false);
  assert.throws(() => loadConfig({ ...base, KEYWAY_OIDC_PAR: 'sometimes' }), /KEYWAY_OIDC_PAR must be 1 .* or 0 \(never\); leave it unset to push only when the identity provider requires it\. Got "sometimes"\./);
});
