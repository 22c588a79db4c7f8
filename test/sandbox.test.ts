/**
 * End-to-end tests of the sandbox provider as a real authorization server on 127.0.0.1, driven
 * with plain HTTP (fetch + cookie jar + form submission), the way Keyway's tests will use it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { createSandbox, DEVICE_CODE_GRANT, startSandboxServer } from '../src/sandbox/index.ts';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { authorizeWithForms, CookieJar, pageText, verifyDeviceWithForms } from './helpers/browserless.ts';

const CLIENT = { clientId: 'keyway-test', clientSecret: 'test-secret' };

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A client's redirect URI endpoint that records what it receives. */
async function startCallbackServer(): Promise<{ redirectUri: string; received: URL[]; server: Server }> {
  const received: URL[] = [];
  const server = createServer((req, res) => {
    received.push(new URL(req.url ?? '/', 'http://127.0.0.1'));
    res.writeHead(200, { 'content-type': 'text/plain' }).end('callback received');
  });
  return { redirectUri: `${await listen(server)}/callback`, received, server };
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizationUrl(issuer: string, redirectUri: string, extra: Record<string, string> = {}) {
  const { verifier, challenge } = pkce();
  const state = randomBytes(8).toString('hex');
  const nonce = randomBytes(8).toString('hex');
  const url = new URL(`${issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: CLIENT.clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid profile email items:read',
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  }).toString();
  // OIDC: nonce only goes with the openid scope.
  if (!url.searchParams.get('scope')?.split(' ').includes('openid')) url.searchParams.delete('nonce');
  return { url, verifier, state, nonce };
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function tokenRequest(issuer: string, params: Record<string, string>, clientId = CLIENT.clientId) {
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic(clientId, CLIENT.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function jwtPayload(jwt: unknown): Record<string, unknown> {
  assert.equal(typeof jwt, 'string');
  return JSON.parse(Buffer.from(String(jwt).split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
}

const api = (issuer: string, path: string, token: string, init: RequestInit = {}) =>
  fetch(`${issuer}/api${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });

describe('sandbox provider (standalone under /sandbox)', () => {
  let as: SandboxServer;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;

  before(async () => {
    callback = await startCallbackServer();
    as = await startSandboxServer({
      path: '/sandbox',
      clients: [
        { ...CLIENT, redirectUris: [callback.redirectUri] },
        { clientId: 'machine', clientSecret: CLIENT.clientSecret, redirectUris: [], grantTypes: ['client_credentials'] },
        { clientId: 'tv', redirectUris: [], grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'] },
      ],
    });
  });
  after(async () => {
    await as.close();
    await close(callback.server);
  });

  /** Signs alice in, allows, exchanges the code; returns the token response. */
  async function connect(username = 'alice', extra: Record<string, string> = {}) {
    const { url, verifier } = authorizationUrl(as.issuer, callback.redirectUri, extra);
    const { callbackUrl } = await authorizeWithForms(url, { username });
    const code = callbackUrl.searchParams.get('code');
    assert.ok(code, `no code in ${callbackUrl.href}`);
    const tokens = await tokenRequest(as.issuer, {
      grant_type: 'authorization_code', code, redirect_uri: callback.redirectUri, code_verifier: verifier,
    });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    return tokens.body;
  }

  test('discovery advertises endpoints under the issuer path, S256 only and RFC 9207 iss', async () => {
    const response = await fetch(`${as.issuer}/.well-known/openid-configuration`);
    const metadata = (await response.json()) as Record<string, unknown>;
    assert.equal(metadata.issuer, as.issuer);
    assert.equal(metadata.authorization_endpoint, `${as.issuer}/auth`);
    assert.equal(metadata.token_endpoint, `${as.issuer}/token`);
    assert.equal(metadata.device_authorization_endpoint, `${as.issuer}/device/auth`);
    assert.equal(metadata.revocation_endpoint, `${as.issuer}/token/revocation`);
    assert.equal(metadata.introspection_endpoint, `${as.issuer}/token/introspection`);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.equal(metadata.authorization_response_iss_parameter_supported, true);
    assert.ok((metadata.scopes_supported as string[]).includes('items:write'));
  });

  test('a user signs in, allows access, and the redirect URI receives code, state and iss', async () => {
    const { url, state } = authorizationUrl(as.issuer, callback.redirectUri);
    const { callbackUrl } = await authorizeWithForms(url, { username: 'alice' });
    assert.equal(`${callbackUrl.origin}${callbackUrl.pathname}`, callback.redirectUri);
    assert.equal(callbackUrl.searchParams.get('state'), state);
    assert.equal(callbackUrl.searchParams.get('iss'), as.issuer);
    assert.ok(callbackUrl.searchParams.get('code'));
    await (await fetch(callbackUrl)).text();
    assert.equal(callback.received.at(-1)?.searchParams.get('code'), callbackUrl.searchParams.get('code'));
  });

  test('the code exchanges for an opaque access token, a refresh token and an ID token with the nonce', async () => {
    const { url, verifier, nonce } = authorizationUrl(as.issuer, callback.redirectUri);
    const { callbackUrl } = await authorizeWithForms(url, { username: 'alice' });
    const tokens = await tokenRequest(as.issuer, {
      grant_type: 'authorization_code',
      code: callbackUrl.searchParams.get('code') ?? '',
      redirect_uri: callback.redirectUri,
      code_verifier: verifier,
    });
    assert.equal(tokens.status, 200);
    assert.equal(tokens.body.token_type, 'Bearer');
    assert.equal(tokens.body.expires_in, 300);
    assert.equal(String(tokens.body.access_token).split('.').length, 1, 'opaque access token');
    assert.ok(tokens.body.refresh_token);
    const idToken = jwtPayload(tokens.body.id_token);
    assert.equal(idToken.nonce, nonce);
    assert.equal(idToken.iss, as.issuer);
    assert.equal(idToken.sub, 'alice');
    const me = await api(as.issuer, '/me', String(tokens.body.access_token));
    assert.equal(me.status, 200);
    assert.deepEqual(await me.json(), { sub: 'alice', name: 'alice', email: 'alice@sandbox.keyway.test' });
  });

  test('a wrong PKCE verifier is refused with invalid_grant', async () => {
    const { url } = authorizationUrl(as.issuer, callback.redirectUri);
    const { callbackUrl } = await authorizeWithForms(url, { username: 'alice' });
    const tokens = await tokenRequest(as.issuer, {
      grant_type: 'authorization_code',
      code: callbackUrl.searchParams.get('code') ?? '',
      redirect_uri: callback.redirectUri,
      code_verifier: pkce().verifier,
    });
    assert.equal(tokens.status, 400);
    assert.equal(tokens.body.error, 'invalid_grant');
  });

  test('an authorization request without PKCE is refused', async () => {
    const { url } = authorizationUrl(as.issuer, callback.redirectUri);
    url.searchParams.delete('code_challenge');
    url.searchParams.delete('code_challenge_method');
    const { callbackUrl } = await authorizeWithForms(url, { username: 'alice' });
    assert.equal(callbackUrl.searchParams.get('error'), 'invalid_request');
  });

  test('denying consent sends access_denied with iss to the redirect URI', async () => {
    const { url, state } = authorizationUrl(as.issuer, callback.redirectUri);
    const { callbackUrl } = await authorizeWithForms(url, { username: 'bob', decision: 'deny' });
    assert.equal(callbackUrl.searchParams.get('error'), 'access_denied');
    assert.equal(callbackUrl.searchParams.get('state'), state);
    assert.equal(callbackUrl.searchParams.get('iss'), as.issuer);
    assert.equal(callbackUrl.searchParams.get('code'), null);
  });

  test('refreshing rotates the refresh token, and reusing the old one fails with invalid_grant', async () => {
    const tokens = await connect();
    const before = as.sandbox.stats.tokenRequests.refresh_token ?? 0;
    const first = await tokenRequest(as.issuer, { grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) });
    assert.equal(first.status, 200);
    assert.notEqual(first.body.refresh_token, tokens.refresh_token);
    assert.notEqual(first.body.access_token, tokens.access_token);
    assert.equal((await api(as.issuer, '/me', String(first.body.access_token))).status, 200);

    const reuse = await tokenRequest(as.issuer, { grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) });
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, 'invalid_grant');
    assert.equal(as.sandbox.stats.tokenRequests.refresh_token, before + 2);
  });

  test('revoking an account\'s grants kills its refresh token with invalid_grant', async () => {
    const tokens = await connect('carol');
    await as.sandbox.revokeAccountGrants('carol');
    const refresh = await tokenRequest(as.issuer, { grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) });
    assert.equal(refresh.body.error, 'invalid_grant');
    assert.equal((await api(as.issuer, '/me', String(tokens.access_token))).status, 401);
  });

  test('the API answers 401 invalid_token without a valid token and 403 insufficient_scope without the scope', async () => {
    const counted = as.sandbox.stats.apiRequests;
    const missing = await fetch(`${as.issuer}/api/me`);
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
    const invalid = await api(as.issuer, '/me', 'not-a-token');
    assert.equal(invalid.status, 401);

    const tokens = await connect('dave'); // items:read only
    const token = String(tokens.access_token);
    const list = await api(as.issuer, '/items', token);
    assert.deepEqual(await list.json(), { data: [] });
    const write = await api(as.issuer, '/items', token, { method: 'POST', body: JSON.stringify({ name: 'x' }) });
    assert.equal(write.status, 403);
    assert.equal(write.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="items:write"');
    assert.equal(as.sandbox.stats.apiRequests, counted + 4);
  });

  test('items written with items:write are listed for the same account only', async () => {
    const erin = await connect('erin', { scope: 'items:read items:write' });
    const created = await api(as.issuer, '/items', String(erin.access_token), {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'first <item>' }),
    });
    assert.equal(created.status, 201);
    const item = (await created.json()) as { id: string; name: string };
    assert.equal(item.name, 'first <item>');
    const list = (await (await api(as.issuer, '/items', String(erin.access_token))).json()) as { data: unknown[] };
    assert.deepEqual(list.data.map((i) => (i as { id: string }).id), [item.id]);
    const frank = await connect('frank', { scope: 'items:read' });
    assert.deepEqual(await (await api(as.issuer, '/items', String(frank.access_token))).json(), { data: [] });
  });

  test('the large and echo endpoints stream bodies', async () => {
    const { access_token: token } = await connect();
    const large = await api(as.issuer, '/large?bytes=300000', String(token));
    assert.equal((await large.arrayBuffer()).byteLength, 300000);
    const payload = randomBytes(100_000);
    const echo = await api(as.issuer, '/echo', String(token), {
      method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: payload,
    });
    assert.deepEqual(Buffer.from(await echo.arrayBuffer()), payload);
  });

  test('client credentials tokens reach the API, introspect as active, and stop working once revoked', async () => {
    const cc = await tokenRequest(as.issuer, { grant_type: 'client_credentials', scope: 'items:read' }, 'machine');
    assert.equal(cc.status, 200, JSON.stringify(cc.body));
    const token = String(cc.body.access_token);
    assert.deepEqual(await (await api(as.issuer, '/items', token)).json(), { data: [] });

    const auth = { authorization: basic('machine', CLIENT.clientSecret) };
    const introspection = await fetch(`${as.issuer}/token/introspection`, { method: 'POST', headers: auth, body: new URLSearchParams({ token }) });
    assert.equal(((await introspection.json()) as { active: boolean }).active, true);
    const revocation = await fetch(`${as.issuer}/token/revocation`, { method: 'POST', headers: auth, body: new URLSearchParams({ token }) });
    assert.equal(revocation.status, 200);
    assert.equal((await api(as.issuer, '/items', token)).status, 401);
  });

  test('device authorization: the user enters the code, signs in, allows, and polling then gets tokens', async () => {
    const start = await fetch(`${as.issuer}/device/auth`, {
      method: 'POST', body: new URLSearchParams({ client_id: 'tv', scope: 'openid items:read' }),
    });
    const device = (await start.json()) as Record<string, string | number>;
    assert.equal(device.verification_uri, `${as.issuer}/device`);
    const poll = () => fetch(`${as.issuer}/token`, {
      method: 'POST', body: new URLSearchParams({ grant_type: DEVICE_CODE_GRANT, device_code: String(device.device_code), client_id: 'tv' }),
    });
    assert.equal(((await (await poll()).json()) as { error: string }).error, 'authorization_pending');

    const page = await verifyDeviceWithForms(String(device.verification_uri), { username: 'gina', userCode: String(device.user_code) });
    assert.match(page.text, /Device connected/);
    const tokens = (await (await poll()).json()) as Record<string, string>;
    assert.ok(tokens.access_token && tokens.refresh_token);
    assert.equal(((await (await api(as.issuer, '/me', tokens.access_token)).json()) as { sub: string }).sub, 'gina');
  });

  test('denying a device sends access_denied to the polling client', async () => {
    const start = await fetch(`${as.issuer}/device/auth`, { method: 'POST', body: new URLSearchParams({ client_id: 'tv' }) });
    const device = (await start.json()) as Record<string, string>;
    const page = await verifyDeviceWithForms(String(device.verification_uri_complete), { username: 'gina', decision: 'deny' });
    assert.match(page.text, /denied or cancelled/);
    const poll = await fetch(`${as.issuer}/token`, {
      method: 'POST', body: new URLSearchParams({ grant_type: DEVICE_CODE_GRANT, device_code: String(device.device_code), client_id: 'tv' }),
    });
    assert.equal(((await poll.json()) as { error: string }).error, 'access_denied');
  });

  test('login and consent pages are plain forms with no script and no third-party resources', async () => {
    const { url } = authorizationUrl(as.issuer, callback.redirectUri);
    const jar = new CookieJar();
    const redirect = await jar.fetch(url);
    const login = await jar.fetch(new URL(redirect.headers.get('location') ?? '', url));
    const html = await login.text();
    assert.match(html, /<form method="post" action="\/sandbox\/interaction\/[^"]+\/login">/);
    assert.match(html, /name="username"/);
    assert.doesNotMatch(html, /<script|https?:\/\//i);
    assert.match(pageText(html), /Sign in/);
  });
});

describe('sandbox provider mounted in another server', () => {
  test('handle() serves a prefixed issuer, and a client registered at run time completes the flow', async () => {
    let handle: ((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void) | undefined;
    const host = createServer((req, res) => {
      if (req.url?.startsWith('/sandbox/') && handle) handle(req, res);
      else res.writeHead(404).end('host app');
    });
    const origin = await listen(host);
    const callback = await startCallbackServer();
    try {
      const sandbox = await createSandbox({ issuer: `${origin}/sandbox`, rotateRefreshTokens: false });
      handle = sandbox.handle;
      await sandbox.registerClient({ ...CLIENT, redirectUris: [callback.redirectUri] });

      const { url, verifier } = authorizationUrl(sandbox.issuer, callback.redirectUri);
      const { callbackUrl } = await authorizeWithForms(url, { username: 'alice' });
      assert.equal(callbackUrl.searchParams.get('iss'), `${origin}/sandbox`);
      const tokens = await tokenRequest(sandbox.issuer, {
        grant_type: 'authorization_code', code: callbackUrl.searchParams.get('code') ?? '',
        redirect_uri: callback.redirectUri, code_verifier: verifier,
      });
      assert.equal(tokens.status, 200);
      // Without rotation the same refresh token keeps working.
      for (let i = 0; i < 2; i++) {
        const refreshed = await tokenRequest(sandbox.issuer, { grant_type: 'refresh_token', refresh_token: String(tokens.body.refresh_token) });
        assert.equal(refreshed.status, 200);
        assert.equal(refreshed.body.refresh_token, tokens.body.refresh_token);
      }
      assert.deepEqual(sandbox.stats.tokenRequests, { authorization_code: 1, refresh_token: 2 });
    } finally {
      await close(host);
      await close(callback.server);
    }
  });

  test('an access token is refused once its lifetime has passed', async () => {
    const callback = await startCallbackServer();
    const as = await startSandboxServer({ accessTokenTtlSeconds: 1, clients: [{ ...CLIENT, redirectUris: [callback.redirectUri] }] });
    try {
      const { url, verifier } = authorizationUrl(as.issuer, callback.redirectUri);
      const { callbackUrl } = await authorizeWithForms(url, { username: 'alice' });
      const tokens = await tokenRequest(as.issuer, {
        grant_type: 'authorization_code', code: callbackUrl.searchParams.get('code') ?? '',
        redirect_uri: callback.redirectUri, code_verifier: verifier,
      });
      assert.equal(tokens.body.expires_in, 1);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const expired = await api(as.issuer, '/me', String(tokens.body.access_token));
      assert.equal(expired.status, 401);
      assert.match(expired.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    } finally {
      await as.close();
      await close(callback.server);
    }
  });
});
