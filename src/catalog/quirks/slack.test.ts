import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slack } from './slack.ts';

const json = new Headers({ 'content-type': 'application/json; charset=utf-8' });

test('Slack\'s invalid_refresh_token sent with HTTP 200 becomes a 400 invalid_grant', () => {
  const out = slack.normalizeTokenResponse({ status: 200, headers: json, body: { ok: false, error: 'invalid_refresh_token' } });
  assert.equal(out.status, 400);
  assert.deepEqual(out.body, { error: 'invalid_grant', error_description: 'invalid_refresh_token' });
});

test('Slack\'s invalid_grant stays invalid_grant', () => {
  const out = slack.normalizeTokenResponse({ status: 200, headers: json, body: { ok: false, error: 'invalid_grant' } });
  assert.equal(out.status, 400);
  assert.deepEqual(out.body, { error: 'invalid_grant' });
});

test('other Slack errors keep their code', () => {
  const out = slack.normalizeTokenResponse({ status: 200, headers: json, body: { ok: false, error: 'invalid_client_id' } });
  assert.equal(out.status, 400);
  assert.deepEqual(out.body, { error: 'invalid_client_id' });
});

test('a Slack bot token reads as a bearer token', () => {
  const body = { ok: true, access_token: 'xoxb-1', token_type: 'bot', scope: 'chat:write,users:read', bot_user_id: 'U1', app_id: 'A1', team: { id: 'T1', name: 'Team' } };
  const out = slack.normalizeTokenResponse({ status: 200, headers: json, body });
  assert.equal(out.status, 200);
  assert.deepEqual(out.body, { ...body, token_type: 'bearer' });
});

test('a user-token-only Slack install lifts authed_user to the top level', () => {
  const authedUser = { id: 'U1', scope: 'users:read,search:read', access_token: 'xoxp-1', token_type: 'user', refresh_token: 'xoxe-1', expires_in: 43200 };
  const out = slack.normalizeTokenResponse({ status: 200, headers: json, body: { ok: true, app_id: 'A1', authed_user: authedUser, team: { id: 'T1' } } });
  assert.equal(out.status, 200);
  const body = out.body as Record<string, unknown>;
  assert.equal(body['access_token'], 'xoxp-1');
  assert.equal(body['token_type'], 'bearer');
  assert.equal(body['scope'], 'users:read,search:read');
  assert.equal(body['refresh_token'], 'xoxe-1');
  assert.equal(body['expires_in'], 43200);
});

test('a Slack bot install keeps the bot token even when authed_user has one too', () => {
  const out = slack.normalizeTokenResponse({ status: 200, headers: json, body: { ok: true, access_token: 'xoxb-1', token_type: 'bot', scope: 'chat:write', authed_user: { id: 'U1', access_token: 'xoxp-1', token_type: 'user', scope: 'search:read' } } });
  const body = out.body as Record<string, unknown>;
  assert.equal(body['access_token'], 'xoxb-1');
  assert.equal(body['scope'], 'chat:write');
});
