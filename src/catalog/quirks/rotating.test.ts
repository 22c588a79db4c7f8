import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atlassian } from './atlassian.ts';
import { quickbooks } from './quickbooks.ts';
import { zoho } from './zoho.ts';
import { zoom } from './zoom.ts';

const json = new Headers({ 'content-type': 'application/json' });

test('QuickBooks\' x_refresh_token_expires_in becomes refresh_token_expires_in', () => {
  const out = quickbooks.normalizeTokenResponse({ status: 200, headers: json, body: { token_type: 'bearer', expires_in: 3600, refresh_token: 'AB1', x_refresh_token_expires_in: 8726400, access_token: 'eyJ' } });
  assert.equal((out.body as Record<string, unknown>)['refresh_token_expires_in'], 8726400);
  const plain = { access_token: 'eyJ', token_type: 'bearer' };
  assert.deepEqual(quickbooks.normalizeTokenResponse({ status: 200, headers: json, body: plain }).body, plain);
});

test('Atlassian\'s 403 invalid_grant becomes a 400 invalid_grant; other 403s keep their status', () => {
  const dead = { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' };
  assert.deepEqual(atlassian.normalizeTokenResponse({ status: 403, headers: json, body: dead }), { status: 400, body: dead });
  assert.equal(atlassian.normalizeTokenResponse({ status: 403, headers: json, body: { error: 'access_denied' } }).status, 403);
});

test('Zoom\'s "Invalid Token!" invalid_request reads as invalid_grant; other invalid_request errors stay', () => {
  assert.deepEqual(zoom.normalizeTokenResponse({ status: 400, headers: json, body: { reason: 'Invalid Token!', error: 'invalid_request' } }),
    { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid Token!' } });
  const other = { reason: 'Invalid client_id or client_secret', error: 'invalid_request' };
  assert.deepEqual(zoom.normalizeTokenResponse({ status: 400, headers: json, body: other }).body, other);
});

test('Zoho\'s HTTP 200 errors become 400s; invalid_code reads as invalid_grant', () => {
  assert.deepEqual(zoho.normalizeTokenResponse({ status: 200, headers: json, body: { error: 'invalid_code' } }),
    { status: 400, body: { error: 'invalid_grant', error_description: 'invalid_code' } });
  assert.deepEqual(zoho.normalizeTokenResponse({ status: 200, headers: json, body: { error: 'invalid_client' } }), { status: 400, body: { error: 'invalid_client' } });
  const ok = { access_token: '1000.x', api_domain: 'https://www.zohoapis.com', token_type: 'Bearer', expires_in: 3600 };
  assert.deepEqual(zoho.normalizeTokenResponse({ status: 200, headers: json, body: ok }), { status: 200, body: ok });
});
