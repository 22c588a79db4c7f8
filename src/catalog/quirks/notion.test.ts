import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notion } from './notion.ts';

test('a Notion token request is sent as JSON with the same fields', () => {
  const out = notion.prepareTokenRequest({
    headers: new Headers({ 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', authorization: 'Basic abc' }),
    body: new URLSearchParams({ grant_type: 'authorization_code', code: 'c1', redirect_uri: 'https://kw.example/oauth/callback/int_1' }),
  });
  assert.equal(out.headers.get('content-type'), 'application/json');
  assert.equal(out.headers.get('authorization'), 'Basic abc');
  assert.deepEqual(JSON.parse(String(out.body)), { grant_type: 'authorization_code', code: 'c1', redirect_uri: 'https://kw.example/oauth/callback/int_1' });
});
