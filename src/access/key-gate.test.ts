import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../core/clock.ts';
import { isKeywayError } from '../core/errors.ts';
import type { ApiKeyRecord, Store } from '../store/index.ts';
import { FULL_SCOPE, hashKey } from './api-keys.ts';
import { ApiKeyGate } from './key-gate.ts';

const KEY = `kw_${'a'.repeat(43)}`;

/** A gate over a store that knows one key, counting the rows it is asked for. */
function gateKnowing(key: string): { gate: ApiKeyGate; lookups: () => number } {
  const record: ApiKeyRecord = {
    id: 'key_1', orgId: 'org_1', memberId: 'mem_1', name: 'k', hash: hashKey(key), prefix: key.slice(0, 10), scope: FULL_SCOPE,
    createdAt: 0, lastUsedAt: 0, revokedAt: null, rateLimitPerMinute: 0, expiresAt: null, replacedBy: null,
  };
  let lookups = 0;
  const apiKeys = {
    findByHash: async (hash: string) => { lookups++; return hash === record.hash ? record : null; },
    touch: async () => 1,
  };
  const gate = new ApiKeyGate({ store: { apiKeys } as unknown as Store, clock: new ManualClock(1000), defaultRateLimitPerMinute: 0, onError: () => {} });
  return { gate, lookups: () => lookups };
}

const refusedAs = (message: RegExp) => (e: unknown) => isKeywayError(e, 'unauthorized') && message.test(e.message);

test('keys that do not exist, or cannot be Keyway keys, are refused and leave nothing behind in the gate', async () => {
  const { gate, lookups } = gateKnowing(KEY);
  for (let i = 0; i < 500; i++) {
    const unknown = `kw_${String(i).padStart(43, 'x')}`;
    await assert.rejects(gate.authenticate(`Bearer ${unknown}`), refusedAs(/unknown or revoked/));
    await assert.rejects(gate.authenticate(`Bearer kw_${i}_${'y'.repeat(15_000)}`), refusedAs(/not a Keyway API key/));
  }
  assert.equal(gate.size, 0);
  assert.equal(lookups(), 500, 'only the well-formed ones were looked up');
});

test('a key that exists is remembered by its header: the next call is answered from memory', async () => {
  const { gate, lookups } = gateKnowing(KEY);
  const p = await gate.authenticate(`Bearer ${KEY}`);
  assert.equal(p.keyId, 'key_1');
  assert.equal(gate.size, 2, 'its header and its entry');
  assert.equal(gate.cached(`Bearer ${KEY}`)?.keyId, 'key_1');
  await gate.authenticate(`Bearer ${KEY}`);
  assert.equal(lookups(), 1);
});

test('a long header with a real key works but is not remembered', async () => {
  const { gate } = gateKnowing(KEY);
  const padded = `Bearer${' '.repeat(10_000)}${KEY}`;
  assert.equal((await gate.authenticate(padded)).keyId, 'key_1');
  assert.equal(gate.size, 1, 'the key entry only, not the 10 KB header');
  assert.equal(gate.cached(padded)?.keyId, 'key_1');
});
