import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { type FakeAnswer, FakeProvider, type FakeRequest, addFakeIntegration, connectThroughFake } from './helpers/fake-provider.ts';

const HOUR = 3_600_000;
const YEAR = 365 * 24 * HOUR;

/** A provider's single-use refresh tokens: each works once, then the provider says `dead()`. */
class SingleUse {
  readonly #live = new Set<string>();
  #n = 0;
  issue(prefix: string): string {
    const token = `${prefix}${++this.#n}`;
    this.#live.add(token);
    return token;
  }
  use(token: string | null): boolean {
    return token !== null && this.#live.delete(token);
  }
  revokeAll(): void {
    this.#live.clear();
  }
}

describe('GitHub quirks, replayed from a fake GitHub on 127.0.0.1', () => {
  let t: TestKeyway;
  let fake: FakeProvider;
  let oauthApp: { id: string };
  let githubApp: { id: string };
  const refreshTokens = new SingleUse();
  let answer: (req: FakeRequest) => FakeAnswer;
  let n = 0;

  before(async () => {
    fake = await FakeProvider.start();
    t = await startTestKeyway();
    oauthApp = await addFakeIntegration(t, fake, 'github', { scopes: ['repo', 'read:user'] });
    githubApp = await addFakeIntegration(t, fake, 'github', { scopes: [] });
    fake.token = (req) => answer(req);
    // GET https://api.github.com/user: who signed in (the definition's identity).
    fake.api = (req) => req.path === '/api.github.com/user'
      ? { json: { login: 'octocat', id: 583231, node_id: 'MDQ6VXNlcjU4MzIzMQ==', type: 'User', name: 'The Octocat' } }
      : { status: 404, json: { message: 'Not Found' } };
  });
  after(async () => {
    await t?.close();
    await fake?.close();
  });

  /** A GitHub App's user token answer, or GitHub's HTTP 200 error for a used or expired refresh token. */
  const githubAppTokens = (req: FakeRequest): FakeAnswer => {
    if (req.form.get('grant_type') === 'refresh_token' && !refreshTokens.use(req.form.get('refresh_token'))) {
      return { status: 200, json: { error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.', error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors' } };
    }
    return { json: { access_token: `ghu_16C7e42F292c6912E7710c8383${++n}`, expires_in: 28800, refresh_token: refreshTokens.issue('ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498'), refresh_token_expires_in: 15811200, scope: '', token_type: 'bearer' } };
  };

  test('an OAuth App token (comma-separated scopes, no expiry, no refresh token) is never marked needs_reauth for want of a lifetime', async () => {
    answer = () => ({ json: { access_token: 'gho_16C7e42F292c6912E7710c838347Ae178B4a', scope: 'repo,read:user', token_type: 'bearer' } });
    const run = await connectThroughFake(t, oauthApp.id);
    assert.equal(run.authorizeUrl.searchParams.get('scope'), 'repo read:user');
    const exchange = fake.tokenRequests().at(-1);
    assert.equal(exchange?.headers.accept, 'application/json', 'GitHub answers JSON only when asked');
    const c = run.connection;
    assert.deepEqual(c.grantedScopes, ['repo', 'read:user']);
    assert.deepEqual(c.missingScopes, []);
    assert.equal(c.hasRefreshToken, false);
    assert.equal(c.accessTokenExpiresAt, null);
    assert.equal(c.statusReason, null);
    assert.deepEqual(c.account, { issuer: 'fake-github', subject: '583231', label: 'octocat' });
    t.clock.advance(YEAR);
    const res = await t.api('GET', `/v1/connections/${c.id}/token`);
    assert.equal(res.status, 200);
    assert.equal(res.body.accessToken, 'gho_16C7e42F292c6912E7710c838347Ae178B4a');
    assert.equal((await t.api('GET', `/v1/connections/${c.id}`)).body.status, 'active');
  });

  test('a GitHub App user token expires after 8 hours; each single-use refresh token is replaced and the latest one used', async () => {
    answer = githubAppTokens;
    const run = await connectThroughFake(t, githubApp.id);
    const c = run.connection;
    assert.equal(Date.parse(c.accessTokenExpiresAt) - t.clock.now(), 8 * HOUR);
    assert.equal(Date.parse(c.refreshTokenExpiresAt) - t.clock.now(), 15811200 * 1000);
    const used: string[] = [];
    for (let round = 0; round < 3; round++) {
      t.clock.advance(8 * HOUR);
      const res = await t.api('GET', `/v1/connections/${c.id}/token`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.accessToken, `ghu_16C7e42F292c6912E7710c8383${n}`);
      used.push(fake.tokenRequests().at(-1)?.form.get('refresh_token') ?? '');
    }
    assert.equal(new Set(used).size, 3, 'every refresh used a different (the latest) refresh token');
    assert.equal((await t.api('GET', `/v1/connections/${c.id}`)).body.status, 'active');
  });

  test('GitHub\'s HTTP 200 bad_refresh_token turns the connection needs_reauth, naming what GitHub said', async () => {
    answer = githubAppTokens;
    const run = await connectThroughFake(t, githubApp.id);
    refreshTokens.revokeAll();
    t.clock.advance(8 * HOUR);
    const res = await t.api('GET', `/v1/connections/${run.connection.id}/token`);
    assert.equal(res.status, 409);
    assert.equal(res.headers.get('keyway-error'), 'needs_reauth');
    const c = (await t.api('GET', `/v1/connections/${run.connection.id}`)).body;
    assert.equal(c.status, 'needs_reauth');
    assert.match(c.statusReason, /invalid_grant: bad_refresh_token/);
  });

  test('GitHub\'s HTTP 200 bad_verification_code fails the connect; nothing is stored', async () => {
    answer = () => ({ status: 200, json: { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.', error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code' } });
    const run = await connectThroughFake(t, oauthApp.id);
    assert.equal(run.page.status, 400);
    assert.match(run.page.text, /bad_verification_code/);
    assert.equal(run.connection, null);
    assert.equal(run.session.status, 'failed');
  });
});

const TEAM = { id: 'T9TK3CUKW', name: 'Slack Softball Team', domain: 'slacksoftballteam' };

describe('Slack quirks, replayed from a fake Slack on 127.0.0.1', () => {
  let t: TestKeyway;
  let fake: FakeProvider;
  let bot: { id: string };
  let user: { id: string };
  const refreshTokens = new SingleUse();
  let answer: (req: FakeRequest) => FakeAnswer;
  let n = 0;

  before(async () => {
    fake = await FakeProvider.start();
    t = await startTestKeyway();
    bot = await addFakeIntegration(t, fake, 'slack', { scopes: ['commands', 'incoming-webhook'] });
    user = await addFakeIntegration(t, fake, 'slack-user', { scopes: ['search:read', 'users:read'] });
    fake.token = (req) => answer(req);
  });
  after(async () => {
    await t?.close();
    await fake?.close();
  });

  /** A user-token install with token rotation: the token under authed_user; refreshes answer at the top level. */
  const rotatingUserTokens = (req: FakeRequest): FakeAnswer => {
    if (req.form.get('grant_type') === 'refresh_token') {
      if (!refreshTokens.use(req.form.get('refresh_token'))) return { status: 200, json: { ok: false, error: 'invalid_refresh_token' } };
      return { json: { ok: true, app_id: 'A0KRD7HC3', access_token: `xoxe.xoxp-1-rotated-${++n}`, token_type: 'user', scope: 'search:read,users:read', expires_in: 43200, refresh_token: refreshTokens.issue('xoxe-1-refresh-'), team: TEAM, enterprise: null } };
    }
    return { json: { ok: true, app_id: 'A0KRD7HC3', team: TEAM, enterprise: null, is_enterprise_install: false,
      authed_user: { id: 'U1234', scope: 'search:read,users:read', access_token: `xoxe.xoxp-1-first-${++n}`, token_type: 'user', refresh_token: refreshTokens.issue('xoxe-1-refresh-'), expires_in: 43200 } } };
  };

  test('a bot install without rotation: comma scopes, team id kept, the installing user as the account, still usable a year later', async () => {
    answer = () => ({ json: {
      ok: true, access_token: 'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy', token_type: 'bot', scope: 'commands,incoming-webhook',
      bot_user_id: 'U0KRQLJ9H', app_id: 'A0KRD7HC3', team: TEAM, enterprise: null, is_enterprise_install: false,
      authed_user: { id: 'U1234', scope: 'chat:write', access_token: 'xoxp-1234-should-never-be-shown', token_type: 'user' },
    } });
    const run = await connectThroughFake(t, bot.id);
    assert.equal(run.authorizeUrl.searchParams.get('scope'), 'commands,incoming-webhook');
    const c = run.connection;
    assert.deepEqual(c.grantedScopes, ['commands', 'incoming-webhook']);
    assert.deepEqual(c.providerValues, { team_id: 'T9TK3CUKW', bot_user_id: 'U0KRQLJ9H' });
    assert.deepEqual(c.account, { issuer: 'fake-slack', subject: 'U1234', label: 'Slack Softball Team' });
    assert.equal(c.hasRefreshToken, false);
    assert.equal(c.accessTokenExpiresAt, null);
    assert.ok(!JSON.stringify(c).includes('xoxp'), 'the user token beside the bot token is never shown');
    t.clock.advance(YEAR);
    const res = await t.api('GET', `/v1/connections/${c.id}/token`);
    assert.equal(res.status, 200);
    assert.equal(res.body.accessToken, 'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy');
    assert.ok(!t.logs.text().includes('xoxp-1234-should-never-be-shown'));
  });

  test('a user-token install asks with user_scope, stores the authed_user token, and rotates it every 12 hours with single-use refresh tokens', async () => {
    answer = rotatingUserTokens;
    const run = await connectThroughFake(t, user.id);
    assert.equal(run.authorizeUrl.searchParams.get('user_scope'), 'search:read,users:read');
    assert.equal(run.authorizeUrl.searchParams.get('scope'), null);
    const c = run.connection;
    assert.equal(c.account.subject, 'U1234');
    assert.equal(c.hasRefreshToken, true);
    assert.deepEqual(c.grantedScopes, ['search:read', 'users:read']);
    assert.equal(Date.parse(c.accessTokenExpiresAt) - t.clock.now(), 12 * HOUR);
    const first = await t.api('GET', `/v1/connections/${c.id}/token`);
    assert.match(first.body.accessToken, /^xoxe\.xoxp-1-first-/);
    const used: string[] = [];
    for (let round = 0; round < 2; round++) {
      t.clock.advance(12 * HOUR);
      const res = await t.api('GET', `/v1/connections/${c.id}/token`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.accessToken, `xoxe.xoxp-1-rotated-${n}`);
      used.push(fake.tokenRequests().at(-1)?.form.get('refresh_token') ?? '');
    }
    assert.notEqual(used[0], used[1]);
  });

  test('Slack\'s HTTP 200 ok:false invalid_refresh_token turns the connection needs_reauth', async () => {
    answer = rotatingUserTokens;
    const run = await connectThroughFake(t, user.id);
    refreshTokens.revokeAll();
    t.clock.advance(12 * HOUR);
    const res = await t.api('GET', `/v1/connections/${run.connection.id}/token`);
    assert.equal(res.status, 409);
    const c = (await t.api('GET', `/v1/connections/${run.connection.id}`)).body;
    assert.equal(c.status, 'needs_reauth');
    assert.match(c.statusReason, /invalid_grant: invalid_refresh_token/);
  });

  test('Slack\'s ok:false on the code exchange fails the connect, keeping Slack\'s error code', async () => {
    answer = () => ({ status: 200, json: { ok: false, error: 'invalid_code' } });
    const run = await connectThroughFake(t, bot.id);
    assert.equal(run.connection, null);
    assert.match(run.page.text, /invalid_code/);
  });
});
