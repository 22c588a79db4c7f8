import { test } from 'node:test';
import assert from 'node:assert/strict';
import { challengeParams, headerSafe, scopeHint, scopeProblemFromBody, scopeProblemFromHeaders } from './hints.ts';

test('RFC 6750 challenges are parsed, quoted values unescaped', () => {
  assert.deepEqual(challengeParams('Bearer realm="x", error="insufficient_scope", scope="a b", error_description="need \\"a\\""'),
    { realm: 'x', error: 'insufficient_scope', scope: 'a b', error_description: 'need "a"' });
});

test('a 403 with error="insufficient_scope" names the scopes; other errors are left alone', () => {
  assert.deepEqual(scopeProblemFromHeaders(403, { 'www-authenticate': 'Bearer error="insufficient_scope", scope="items:write files:read"' }), { scopes: ['items:write', 'files:read'] });
  assert.equal(scopeProblemFromHeaders(401, { 'www-authenticate': 'Bearer error="invalid_token"' }), null);
  assert.equal(scopeProblemFromHeaders(200, { 'www-authenticate': 'Bearer error="insufficient_scope"' }), null);
});

test('accepted-scope headers (GitHub) reveal a missing scope only when the token has none of them', () => {
  assert.deepEqual(scopeProblemFromHeaders(404, { 'x-accepted-oauth-scopes': 'repo', 'x-oauth-scopes': 'read:user' }), { scopes: ['repo'] });
  assert.equal(scopeProblemFromHeaders(404, { 'x-accepted-oauth-scopes': 'repo', 'x-oauth-scopes': 'repo, read:user' }), null);
});

test('provider body shapes for a missing scope are recognised', () => {
  assert.deepEqual(scopeProblemFromBody(Buffer.from('{"ok":false,"error":"missing_scope","needed":"chat:write"}')), { scopes: ['chat:write'] });
  assert.deepEqual(scopeProblemFromBody(Buffer.from('{"error":"insufficient_scope","scope":"a b"}')), { scopes: ['a', 'b'] });
  assert.deepEqual(scopeProblemFromBody(Buffer.from('{"error":{"code":403,"status":"PERMISSION_DENIED","details":[{"reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}}')), { scopes: [] });
  assert.equal(scopeProblemFromBody(Buffer.from('{"error":"forbidden"}')), null);
  assert.equal(scopeProblemFromBody(Buffer.from('<html>no</html>')), null);
});

test('the hint names what is missing and says to re-authenticate; it is always one clean header line', () => {
  assert.match(scopeHint({ scopes: ['a', 'b'] }, ['a']), /needs the scope "b".*Re-authenticate the connection and accept "b"/);
  assert.match(scopeHint({ scopes: [] }, []), /Re-authenticate/);
  assert.equal(headerSafe('a\r\nb\u00e9'), 'a??b?');
  assert.ok(headerSafe('x'.repeat(2000)).length <= 600);
});
