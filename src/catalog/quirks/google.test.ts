import { test } from 'node:test';
import assert from 'node:assert/strict';
import { google } from './google.ts';

const json = new Headers({ 'content-type': 'application/json' });

test('Google\'s scheme-less issuer is accepted for Google\'s own host only', () => {
  const configuredIssuer = 'https://accounts.google.com';
  assert.equal(google.idTokenIssuer({ configuredIssuer, claims: { iss: 'accounts.google.com' } }), 'accounts.google.com');
  assert.equal(google.idTokenIssuer({ configuredIssuer, claims: { iss: 'https://accounts.google.com' } }), configuredIssuer);
  assert.equal(google.idTokenIssuer({ configuredIssuer, claims: { iss: 'evil.example' } }), configuredIssuer);
});

test('granted userinfo.email and userinfo.profile read as the email and profile asked for', () => {
  const out = google.normalizeTokenResponse({ status: 200, headers: json, body: { access_token: 'ya29', token_type: 'Bearer', scope: 'https://www.googleapis.com/auth/userinfo.email openid https://www.googleapis.com/auth/drive.readonly' } });
  assert.equal((out.body as { scope: string }).scope, 'email openid https://www.googleapis.com/auth/drive.readonly');
});

test('a Google error passes through unchanged', () => {
  const body = { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' };
  assert.deepEqual(google.normalizeTokenResponse({ status: 400, headers: json, body }), { status: 400, body });
});
