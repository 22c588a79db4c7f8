import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeywayError } from './errors.ts';
import { retryWhileStoreUnavailable } from './retry.ts';

const outage = (): KeywayError => new KeywayError('store_unavailable', 'The database is unavailable; retry shortly.');

test('tries again while the store is unavailable, and answers once it is back', async () => {
  let tries = 0;
  const told: string[] = [];
  const got = await retryWhileStoreUnavailable(async () => {
    if (++tries < 4) throw outage();
    return 'stored';
  }, { until: () => Infinity, firstMs: 1, maxMs: 4, onRetry: (e) => told.push(e.code) });
  assert.equal(got, 'stored');
  assert.equal(tries, 4);
  assert.deepEqual(told, ['store_unavailable', 'store_unavailable', 'store_unavailable']);
});

test('another error is thrown at once, and an outage past `until` ends with its last error', async () => {
  let tries = 0;
  await assert.rejects(retryWhileStoreUnavailable(async () => {
    tries++;
    throw new KeywayError('conflict', 'already there');
  }, { until: () => Infinity, firstMs: 1, maxMs: 1 }), /already there/);
  assert.equal(tries, 1);

  // `until` is read after each failure: open for the first two, then passed.
  tries = 0;
  let asked = 0;
  await assert.rejects(retryWhileStoreUnavailable(async () => {
    tries++;
    throw outage();
  }, { until: () => (++asked <= 2 ? Infinity : 0), firstMs: 1, maxMs: 1 }), (e: unknown) => e instanceof KeywayError && e.code === 'store_unavailable');
  assert.equal(tries, 3);
});
