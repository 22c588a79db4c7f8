import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKeywayError } from '../core/errors.ts';
import { formatEnvelope, parseEnvelope } from './envelope.ts';
import { RecordKeyCache } from './record-keys.ts';
import { createSecretKey } from 'node:crypto';

const good = { v: 1, kid: 'dk_abc', alg: 'A256GCM', nonce: Buffer.alloc(12, 1).toString('base64url'), ct: Buffer.alloc(20, 2).toString('base64url') };

function refused(value: unknown, pattern: RegExp): void {
  assert.throws(() => parseEnvelope(typeof value === 'string' ? value : JSON.stringify(value)), (e: unknown) => {
    assert.ok(isKeywayError(e, 'vault_error'));
    assert.match(e.message, pattern);
    return true;
  });
}

test('a well-formed envelope parses and formats back to the same string', () => {
  const text = JSON.stringify(good);
  const parsed = parseEnvelope(text, { kind: 'dk' });
  assert.equal(parsed.kid, 'dk_abc');
  assert.equal(parsed.nonce.length, 12);
  assert.equal(formatEnvelope(parsed), text);
});

test('envelopes that are not exactly v1 A256GCM with a 12-byte nonce are refused', () => {
  refused('not json at all', /not JSON/);
  refused([good], /not a JSON object/);
  refused(null, /not a JSON object/);
  refused({ ...good, extra: 1 }, /exactly the fields/);
  const { ct: _ct, ...withoutCt } = good;
  refused(withoutCt, /exactly the fields/);
  refused({ ...good, v: 2 }, /unsupported version 2/);
  refused({ ...good, v: '1' }, /v must be a number/);
  refused({ ...good, alg: 'A128GCM' }, /unsupported algorithm/);
  refused({ ...good, kid: 'conn_1' }, /kid is not a key id/);
  refused({ ...good, nonce: Buffer.alloc(11).toString('base64url') }, /nonce must be 12 bytes/);
  refused({ ...good, nonce: Buffer.alloc(12, 0xfb).toString('base64') }, /nonce must be 12 bytes/);
  refused({ ...good, ct: `${good.ct}=` }, /ct must be base64url/);
  refused({ ...good, ct: Buffer.alloc(15).toString('base64url') }, /at least 16 bytes/);
  assert.throws(() => parseEnvelope(JSON.stringify(good), { kind: 'mk' }), /must name a master key/);
});

test('the derived-key cache keeps at most its bound and reuses hits', () => {
  const cache = new RecordKeyCache(3);
  const dataKey = createSecretKey(Buffer.alloc(32, 9));
  const first = cache.get('dk_1', dataKey, 'conn_1', 'access_token');
  assert.equal(cache.get('dk_1', dataKey, 'conn_1', 'access_token'), first);
  for (let i = 2; i <= 5; i += 1) cache.get('dk_1', dataKey, `conn_${i}`, 'access_token');
  assert.equal(cache.size, 3);
  const again = cache.get('dk_1', dataKey, 'conn_1', 'access_token');
  assert.notEqual(again, first);
  assert.ok(again.equals(first), 'the same inputs derive the same key');
  assert.ok(!cache.get('dk_1', dataKey, 'conn_1', 'refresh_token').equals(first), 'another field derives another key');
});
