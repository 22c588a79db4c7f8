import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BUILTIN_PROVIDERS_DIR, type ProviderDefinition, hooksFor, loadDefinitionsFromDir, resolveProvider } from '../src/catalog/index.ts';
import { KeywayError } from '../src/core/errors.ts';
import { type OAuthContext, refreshAccessToken, withNormalizer } from '../src/oauth/index.ts';

/** What the fake token endpoint answers next: always HTTP 200, as GitHub and Slack do. */
let nextBody: unknown = {};
const seen: URLSearchParams[] = [];

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => { data += chunk; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

describe('provider quirks: GitHub and Slack token endpoints replayed on 127.0.0.1', () => {
  let server: Server;
  let base: string;
  const defs = new Map<string, ProviderDefinition>();

  before(async () => {
    for (const def of loadDefinitionsFromDir(BUILTIN_PROVIDERS_DIR)) defs.set(def.id, def);
    server = createServer((req, res) => {
      void readBody(req).then((body) => {
        seen.push(new URLSearchParams(body));
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
        res.end(JSON.stringify(nextBody));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function contextFor(id: string): OAuthContext {
    const def = defs.get(id);
    assert.ok(def, `built-in provider ${id}`);
    return {
      provider: resolveProvider(def, { authorizationUrl: `${base}/${id}/authorize`, tokenUrl: `${base}/${id}/token` }),
      client: { clientId: 'client-1', clientSecret: 'secret-1' },
      fetch: withNormalizer(globalThis.fetch, hooksFor(def)),
      allowInsecure: true,
      timeoutMs: 5_000,
    };
  }

  async function refreshFails(id: string): Promise<KeywayError> {
    try {
      await refreshAccessToken(contextFor(id), 'rt');
    } catch (e) {
      assert.ok(e instanceof KeywayError, String(e));
      return e;
    }
    assert.fail('the refresh should have failed');
  }

  test('an expired GitHub refresh token (HTTP 200 bad_refresh_token) surfaces as invalid_grant', async () => {
    nextBody = { error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.', error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors' };
    const e = await refreshFails('github');
    assert.equal(e.code, 'provider_error');
    assert.equal(e.details?.['providerError'], 'invalid_grant');
    assert.equal(e.details?.['providerStatus'], 400);
    assert.match(String(e.details?.['providerErrorDescription']), /^bad_refresh_token: /);
    const sent = seen.at(-1);
    assert.equal(sent?.get('grant_type'), 'refresh_token');
    assert.equal(sent?.get('client_secret'), 'secret-1');
  });

  test('a wrong GitHub code (HTTP 200 bad_verification_code) keeps GitHub\'s error', async () => {
    nextBody = { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' };
    const e = await refreshFails('github');
    assert.equal(e.details?.['providerError'], 'bad_verification_code');
    assert.equal(e.details?.['providerErrorDescription'], 'The code passed is incorrect or expired.');
  });

  test('a GitHub token grants the comma-separated scopes it lists', async () => {
    nextBody = { access_token: 'gho_x', token_type: 'bearer', scope: 'repo,read:user' };
    const tokens = await refreshAccessToken(contextFor('github'), 'rt');
    assert.equal(tokens.accessToken, 'gho_x');
    assert.deepEqual(tokens.scopes, ['repo', 'read:user']);
  });

  test('a dead Slack refresh token (HTTP 200 ok:false invalid_refresh_token) surfaces as invalid_grant', async () => {
    nextBody = { ok: false, error: 'invalid_refresh_token' };
    const e = await refreshFails('slack');
    assert.equal(e.code, 'provider_error');
    assert.equal(e.details?.['providerError'], 'invalid_grant');
    assert.equal(e.details?.['providerErrorDescription'], 'invalid_refresh_token');
  });

  test('a user-token-only Slack answer yields the authed_user token, refresh token and scopes', async () => {
    nextBody = {
      ok: true, app_id: 'A0KRD7HC3', team: { id: 'T9TK3CUKW', name: 'Slack Softball Team' }, enterprise: null, is_enterprise_install: false,
      authed_user: { id: 'U1234', scope: 'users:read,search:read', access_token: 'xoxe.xoxp-1-abc', token_type: 'user', refresh_token: 'xoxe-1-def', expires_in: 43200 },
    };
    const tokens = await refreshAccessToken(contextFor('slack'), 'rt');
    assert.equal(tokens.accessToken, 'xoxe.xoxp-1-abc');
    assert.equal(tokens.refreshToken, 'xoxe-1-def');
    assert.equal(tokens.expiresIn, 43200);
    assert.deepEqual(tokens.scopes, ['users:read', 'search:read']);
  });

  test('a Slack bot token answer yields the bot token and its scopes', async () => {
    nextBody = { ok: true, access_token: 'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy', token_type: 'bot', scope: 'commands,incoming-webhook', bot_user_id: 'U0KRQLJ9H', app_id: 'A0KRD7HC3' };
    const tokens = await refreshAccessToken(contextFor('slack'), 'rt');
    assert.equal(tokens.accessToken, 'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy');
    assert.deepEqual(tokens.scopes, ['commands', 'incoming-webhook']);
  });
});
