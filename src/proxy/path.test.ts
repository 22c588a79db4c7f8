import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditPath, checkForwardPath, parseProxyUrl } from './path.ts';

test('the proxy URL splits into connection, raw path and raw query, nothing decoded', () => {
  assert.deepEqual(parseProxyUrl('/v1/proxy/conn_1/projects/a%2Fb/issues?state=open&x=%20'), { connectionId: 'conn_1', path: '/projects/a%2Fb/issues', query: 'state=open&x=%20' });
  assert.deepEqual(parseProxyUrl('/v1/proxy/conn_1'), { connectionId: 'conn_1', path: '', query: null });
  assert.deepEqual(parseProxyUrl('/v1/proxy/conn_1?q=1'), { connectionId: 'conn_1', path: '', query: 'q=1' });
  assert.throws(() => parseProxyUrl('/v1/proxy//x'), /connection id/);
});

test('dot segments that climb above the base are refused, in every spelling', () => {
  for (const p of ['/..', '/../x', '/a/../../x', '/%2e%2e/x', '/%2E%2e%2fx', '/.%2e/x', '/a/b/../../../x', '/..\\x', '/%5c..%5cx', '/..;/x', '/a/..;x/../x']) {
    assert.throws(() => checkForwardPath(p), /Refused to forward this path/, p);
  }
});

test('a scheme, an authority or credentials at the start of the path are refused', () => {
  for (const p of ['//evil.example', '/%2f%2fevil.example', '/\\\\evil.example', '/https://evil.example/x', '/HTTP:%2F%2Fx', '/file:/etc/passwd', '/data:text/html,x', '/javascript:alert(1)', '/user:pass@evil.example', '/u:p%40evil.example/x']) {
    assert.throws(() => checkForwardPath(p), /Refused to forward this path/, p);
  }
});

test('dot segments cannot hide a scheme, an authority or credentials: the path is judged again once they are removed', () => {
  for (const p of ['/a/..//evil.example/x', '/.//evil.example/x', '/%2e//evil.example', '/a/../http://evil.example', '/./user:pw@evil.example',
    '/a/../javascript:alert(1)', '/a/..%2F%2Fevil.example', '/a/../http:%2F%2Fevil.example', '/.;x//evil.example', '/a\\..\\\\evil.example']) {
    assert.throws(() => checkForwardPath(p), /Refused to forward this path: once its dot segments are removed, it (starts with "\/\/"|starts with a URL scheme|carries a user name)/, p);
  }
});

test('a raw "#" in the path is refused, telling to send it as %23; an encoded one passes', () => {
  for (const p of ['/things#frag', '/#', '/a/b#c/d']) assert.throws(() => checkForwardPath(p), /"#".*percent-encode it as %23/, p);
  assert.doesNotThrow(() => checkForwardPath('/things%23frag'));
});

test('a path of 16 KB of colons (as long as Node lets a request line be) is judged like any other: no "@", so no credentials', () => {
  // The userinfo pattern reads up to the first ':' only (linear), so such a path does not stall the gateway.
  for (const p of [`/${':'.repeat(16_000)}`, `/a/../${':'.repeat(16_000)}`]) assert.doesNotThrow(() => checkForwardPath(p));
  assert.throws(() => checkForwardPath(`/${':'.repeat(16_000)}@evil.example`), /user name and password/);
});

test('ordinary API paths pass, including colons, @ and encoded slashes inside segments', () => {
  for (const p of ['', '/', '/a/../b', '/a/./b', '/projects/group%2Fsub/issues', '/v1/projects:search', '/users/alice@example.com', '/values/Sheet1!A1:B2', '/files/..hidden', '/a//b', '/%2e%2e.txt',
    '/%252e%252e/x', '/a;v=1/b;w=2', '/a//b/../c', '/projects/group%2Fproject', '/caf%C3%A9', '/x@evil.example', '/seg/http://evil.example',
    '/a/../seg/http://evil.example', '/v1/file.tar.gz', '/.well-known/openid-configuration', '/a/./b/../x@evil.example']) {
    assert.doesNotThrow(() => checkForwardPath(p), p);
  }
});

test('the audit keeps the path and the query parameter names, never their values', () => {
  assert.deepEqual(auditPath('/items', 'api_key=secret&page=2'), { path: '/items', query: ['api_key', 'page'] });
  assert.deepEqual(auditPath('', null), { path: '/', query: [] });
});

test('the audit masks credentials in a path ("user:password@", also encoded) and keeps the rest as sent', () => {
  for (const [path, kept] of [
    ['/:hunter2pw@evil.example/x', '/[userinfo]@evil.example/x'], ['/user:pw@evil.example', '/[userinfo]@evil.example'],
    ['/./u%3Ap%40evil.example', '/./[userinfo]@evil.example'], ['/seg/http://u:p@ss@evil.example/x', '/seg/http://[userinfo]@evil.example/x'],
    ['/users/me@example.com', '/users/me@example.com'], ['/values/Sheet1!A1:B2', '/values/Sheet1!A1:B2'], ['/a:b/c@d', '/a:b/c@d'],
  ]) assert.equal(auditPath(path!, null).path, kept, path);
  assert.ok(!auditPath(`/${'x'.repeat(505)}:secretpw@evil.example`, null).path.includes('secret'), 'masked before the path is cut to 512');
});

test('a query parameter without "=" is a value, not a name: the audit keeps a placeholder', () => {
  assert.deepEqual(auditPath('/items', 'sk_live_BAREVALUE123&page=2&flag=&&x').query, ['[value]', 'page', 'flag', '', '[value]']);
});
