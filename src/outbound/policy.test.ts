import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKeywayError } from '../core/errors.ts';
import { buildAllowList, checkAddresses, checkUrlSyntax, parseAllowPrivateHosts, targetOf, type Policy } from './policy.ts';

function policy(dev: boolean, allow: string[] = []): Policy {
  return { dev, allowList: buildAllowList(allow) };
}

function refusedReason(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    assert.ok(isKeywayError(e, 'outbound_url_refused'), String(e));
    return String(e.details?.['reason']);
  }
}

const PROD = policy(false, ['keycloak.corp', '*.corp.example', '10.9.9.9']);
const DEV = policy(true);

test('decides URLs before DNS: scheme, userinfo, metadata names and IP literals', () => {
  const cases: Array<[Policy, string, string | undefined]> = [
    [PROD, 'https://example.com/token', undefined],
    [PROD, 'https://8.8.8.8/', undefined],
    [PROD, 'http://example.com/', 'scheme'],
    [PROD, 'ftp://example.com/', 'scheme'],
    [PROD, 'file:///etc/passwd', 'scheme'],
    [PROD, 'https://user:pw@example.com/', 'userinfo'],
    [PROD, 'https://metadata.google.internal/computeMetadata/v1/', 'metadata'],
    [PROD, 'https://METADATA.google.internal./', 'metadata'],
    [PROD, 'https://169.254.169.254/', 'metadata'],
    [PROD, 'https://10.0.0.1/', 'private'],
    [PROD, 'https://10.9.9.9/', undefined], // allow-listed IP literal
    [PROD, 'https://[fd00::1]/', 'unique_local'],
    [PROD, 'https://[::ffff:127.0.0.1]/', 'loopback'],
    [PROD, 'https://0x7f.1/', 'loopback'], // the URL parser reads this as 127.0.0.1
    [PROD, 'https://2130706433/', 'loopback'],
    [PROD, 'https://localhost/', 'loopback'],
    [PROD, 'https://app.localhost/', 'loopback'],
    [PROD, 'https://[::]/', 'unspecified'],
    [PROD, 'https://0.0.0.0/', 'unspecified'],
    [PROD, 'not a url', 'invalid_url'],
    [DEV, 'http://127.0.0.1:8080/', undefined],
    [DEV, 'http://[::1]/', undefined],
    [DEV, 'http://localhost:3000/', undefined],
    [DEV, 'http://api.example.test/', undefined], // decided by address once resolved
    [DEV, 'http://10.0.0.1/', 'private'],
    [DEV, 'http://8.8.8.8/', 'scheme'],
    [DEV, 'http://169.254.169.254/latest/meta-data', 'metadata'],
  ];
  for (const [p, url, reason] of cases) {
    assert.equal(refusedReason(() => checkUrlSyntax(url, 'test URL', p)), reason, url);
  }
});

test('decides resolved addresses by host: allow-list, wildcard, dev loopback, http only to loopback', () => {
  const cases: Array<[Policy, string, string, string | undefined]> = [
    [PROD, 'https://api.example.com/', '93.184.216.34', undefined],
    [PROD, 'https://api.example.com/', '10.1.2.3', 'private'],
    [PROD, 'https://keycloak.corp/', '10.1.2.3', undefined],
    [PROD, 'https://keycloak.corp/', '127.0.0.1', undefined],
    [PROD, 'https://keycloak.corp/', '169.254.169.254', 'metadata'],
    [PROD, 'https://keycloak.corp/', '169.254.10.10', 'link_local'],
    [PROD, 'https://gitlab.corp.example/', 'fd12::5', undefined],
    [PROD, 'https://a.b.corp.example/', '192.168.0.5', undefined],
    [PROD, 'https://corp.example/', '192.168.0.5', 'private'],
    [PROD, 'https://evilcorp.example/', '192.168.0.5', 'private'],
    [PROD, 'https://api.example.com/', '127.0.0.1', 'loopback'],
    [DEV, 'https://api.example.com/', '127.0.0.1', undefined],
    [DEV, 'http://api.example.test/', '::1', undefined],
    [DEV, 'http://api.example.test/', '93.184.216.34', 'scheme'],
    [DEV, 'https://api.example.com/', '10.1.2.3', 'private'],
  ];
  for (const [p, url, address, reason] of cases) {
    const target = targetOf(new URL(url), 'test URL');
    assert.equal(refusedReason(() => checkAddresses(target, [{ address }], p)), reason, `${url} -> ${address}`);
  }
});

test('refuses a name if any one of its addresses is refused', () => {
  const target = targetOf(new URL('https://mixed.example.com/'), 'test URL');
  const reason = refusedReason(() => checkAddresses(target, [{ address: '93.184.216.34' }, { address: '10.0.0.1' }], PROD));
  assert.equal(reason, 'private');
});

test('error messages show scheme, host and path but never query or credentials', () => {
  for (const url of ['https://10.0.0.1/cb?secret=abc', 'https://user:abc@example.com/x?code=abc', 'http://example.com/p?token=abc#abc']) {
    try {
      checkUrlSyntax(url, 'webhook URL', PROD);
      assert.fail(`${url} was allowed`);
    } catch (e) {
      assert.ok(isKeywayError(e, 'outbound_url_refused'));
      assert.doesNotMatch(e.message, /abc/, e.message);
      assert.match(e.message, /^Refused webhook URL https?:\/\/[^/]+\/(cb|x|p): /);
    }
  }
  assert.throws(() => checkUrlSyntax('https://u:abc@[bad', 'webhook URL', PROD), (e: Error) => !e.message.includes('abc'));
});

test('parses KEYWAY_ALLOW_PRIVATE_HOSTS and rejects entries that are not hosts', () => {
  assert.deepEqual(parseAllowPrivateHosts(' keycloak.corp, *.corp.example ,,'), ['keycloak.corp', '*.corp.example']);
  assert.deepEqual(parseAllowPrivateHosts(undefined), []);
  const list = buildAllowList(['Keycloak.Corp.', '*.corp.example', '::1', '[fd00::5]']);
  assert.deepEqual([...list.exact], ['keycloak.corp', '::1', 'fd00::5']);
  assert.deepEqual(list.suffixes, ['corp.example']);
  for (const bad of ['https://keycloak.corp', 'keycloak.corp:8443', 'keycloak.corp/path', '*', '*.10.0.0.1', 'a*.corp', 'user@host']) {
    assert.throws(() => buildAllowList([bad]), (e: unknown) => isKeywayError(e, 'invalid_request'), bad);
  }
});
