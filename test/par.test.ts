/**
 * Pushed authorization requests (RFC 9126): with `pushedAuthorization` on, Keyway POSTs the
 * authorization request to the provider's PAR endpoint (client-authenticated) and sends the browser
 * with only `client_id` and `request_uri`. The counterpart is oidc-provider (the sandbox) with a
 * client that must use PAR.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CookieJar, authorizeWithForms } from './helpers/browserless.ts';
import { CLIENT_SECRET, type TestKeyway, addIntegration, connectInBrowser, startProvider, startTestKeyway } from './helpers/keyway.ts';
import type { SandboxServer } from '../src/sandbox/index.ts';

describe('pushed authorization requests (RFC 9126)', () => {
  let t: TestKeyway;
  let provider: SandboxServer;

  before(async () => {
    t = await startTestKeyway();
    provider = await startProvider();
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  /** An integration whose client at the provider must push its authorization requests. */
  async function parClient(pushedAuthorization: boolean | undefined): Promise<{ id: string; clientId: string; redirectUri: string }> {
    const created = await addIntegration(t, provider, pushedAuthorization === undefined ? {} : { pushedAuthorization });
    await provider.sandbox.registerClient({ clientId: created.clientId, clientSecret: CLIENT_SECRET, redirectUris: [created.redirectUri], requirePushedAuthorization: true });
    return created;
  }

  test('with pushedAuthorization the browser carries only client_id and request_uri, and the connection is made', async () => {
    const integration = await parClient(true);
    const shown = await t.api('GET', `/v1/integrations/${integration.id}`);
    assert.equal(shown.body.pushedAuthorization, true);
    assert.equal(shown.body.endpoints.parUrl, `${provider.issuer}/request`);

    // What the browser is sent to: nothing of the request itself, no state, no PKCE challenge, no scopes.
    const session = await t.api('POST', '/v1/connect-sessions', { integration: integration.id });
    const jar = new CookieJar();
    const first = await jar.fetch(session.body.connectUrl);
    assert.equal(first.status, 302);
    const to = new URL(first.headers.get('location')!);
    assert.equal(`${to.origin}${to.pathname}`, `${provider.issuer}/auth`);
    assert.deepEqual([...to.searchParams.keys()].sort(), ['client_id', 'request_uri']);
    assert.equal(to.searchParams.get('client_id'), integration.clientId);
    assert.match(to.searchParams.get('request_uri')!, /^urn:ietf:params:oauth:request_uri:/);
    // The pushed request is the whole one: the flow completes, and the code exchange with PKCE succeeds.
    const { callbackUrl } = await authorizeWithForms(to, { username: 'paula', decision: 'allow', jar, issuer: provider.issuer });
    const page = await jar.fetch(callbackUrl);
    assert.equal(page.status, 200, await page.clone().text());
    const done = await t.api('GET', `/v1/connect-sessions/${session.body.id}`);
    assert.equal(done.body.status, 'connected');
    const token = await t.api('GET', `/v1/connections/${done.body.connection}/token`);
    assert.equal(token.status, 200);
    const me = await fetch(`${provider.issuer}/api/me`, { headers: { authorization: `Bearer ${token.body.accessToken}` } });
    assert.equal(((await me.json()) as { sub: string }).sub, 'paula');
  });

  test('without it, a provider that requires PAR refuses the plain request and nothing is stored', async () => {
    const integration = await parClient(undefined); // the sandbox's metadata does not require PAR server-wide
    assert.equal((await t.api('GET', `/v1/integrations/${integration.id}`)).body.pushedAuthorization, false);
    const before = (await t.api('GET', '/v1/connections')).body.data.length;
    const run = await connectInBrowser(t, provider, integration.id, { username: 'paula' });
    // The provider sent the browser back with its error; Keyway's page says so.
    assert.equal(run.callbackUrl.searchParams.get('error'), 'invalid_request');
    assert.match(run.callbackUrl.searchParams.get('error_description') ?? '', /Pushed Authorization Request must be used/);
    assert.match(run.page.text, /The provider reported an error, so nothing was connected/);
    assert.equal((await t.api('GET', `/v1/connect-sessions/${run.sessionId}`)).body.status, 'failed');
    assert.equal((await t.api('GET', '/v1/connections')).body.data.length, before);
  });

  test('a pushed request the provider refuses (a wrong client secret) shows the person a page saying so', async () => {
    const integration = await parClient(true);
    await provider.sandbox.registerClient({ clientId: integration.clientId, clientSecret: 'not-the-secret-keyway-has', redirectUris: [integration.redirectUri], requirePushedAuthorization: true });
    const session = await t.api('POST', '/v1/connect-sessions', { integration: integration.id });
    const res = await new CookieJar().fetch(session.body.connectUrl);
    assert.equal(res.status, 502);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const text = await res.text();
    assert.match(text, /The provider reported an error, so nothing was connected/);
    assert.match(text, /Pushed authorization request: the provider refused the client credentials/);
    assert.ok(!text.includes(CLIENT_SECRET), 'no secret on the page');
  });

  test('pushedAuthorization for a provider with no PAR endpoint is refused with what to do', async () => {
    const res = await t.api('POST', '/v1/integrations', {
      provider: 'custom', clientId: 'c', clientSecret: 's', authorizationUrl: `${provider.issuer}/auth`, tokenUrl: `${provider.issuer}/token`, pushedAuthorization: true,
    });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /no pushed authorization request \(PAR\) endpoint; give "issuer" so Keyway can discover it, or leave "pushedAuthorization" unset/);
  });
});
