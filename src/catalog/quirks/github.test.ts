import { test } from 'node:test';
import assert from 'node:assert/strict';
import { github } from './github.ts';

const json = new Headers({ 'content-type': 'application/json' });

test('a GitHub error sent with HTTP 200 becomes a 400 that keeps GitHub\'s error', () => {
  const body = { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.', error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code' };
  const out = github.normalizeTokenResponse({ status: 200, headers: json, body });
  assert.equal(out.status, 400);
  assert.deepEqual(out.body, body);
});

test('an expired GitHub refresh token reads as invalid_grant, GitHub\'s code kept in the description', () => {
  const out = github.normalizeTokenResponse({ status: 200, headers: json, body: { error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.' } });
  assert.equal(out.status, 400);
  assert.deepEqual(out.body, { error: 'invalid_grant', error_description: 'bad_refresh_token: The refresh token passed is incorrect or expired.' });
});

test('GitHub\'s comma-separated granted scopes become space-separated', () => {
  const out = github.normalizeTokenResponse({ status: 200, headers: json, body: { access_token: 'gho_x', token_type: 'bearer', scope: 'repo,read:user' } });
  assert.equal(out.status, 200);
  assert.deepEqual(out.body, { access_token: 'gho_x', token_type: 'bearer', scope: 'repo read:user' });
});

test('a standard GitHub success passes through unchanged', () => {
  const body = { access_token: 'ghu_x', token_type: 'bearer', scope: '', expires_in: 28800, refresh_token: 'ghr_x', refresh_token_expires_in: 15897600 };
  const out = github.normalizeTokenResponse({ status: 200, headers: json, body });
  assert.equal(out.status, 200);
  assert.deepEqual(out.body, body);
});

test('a GitHub error already sent with an error status keeps that status', () => {
  const out = github.normalizeTokenResponse({ status: 401, headers: json, body: { error: 'incorrect_client_credentials' } });
  assert.equal(out.status, 401);
});
