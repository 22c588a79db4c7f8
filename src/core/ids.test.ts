import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Random, cryptoRandom } from './random.ts';
import { idSource, newId } from './ids.ts';

/** Bytes 0, 1, 2, … in order, whatever is asked: each id is predictable from the last. */
function counting(): Random & { draws: number[] } {
  let next = 0;
  const draws: number[] = [];
  return {
    draws,
    bytes(n) {
      draws.push(n);
      return Uint8Array.from({ length: n }, () => next++ & 0xff);
    },
  };
}

test('idSource makes the ids newId makes, from consecutive 16-byte runs of a pool drawn a few KB at a time', () => {
  const random = counting();
  const next = idSource('audit', random, 64);
  const ids = Array.from({ length: 9 }, () => next());
  assert.deepEqual(random.draws, [64, 64, 64], 'four ids per 64-byte pool, nine ids: three draws');
  const reference = counting();
  assert.deepEqual(ids, Array.from({ length: 9 }, () => newId('audit', reference)));
  for (const id of ids) assert.match(id, /^aud_[A-Za-z0-9_-]{22}$/);
});

test('idSource ids are unique across many pools', () => {
  const next = idSource('audit', cryptoRandom);
  const ids = new Set(Array.from({ length: 5000 }, () => next()));
  assert.equal(ids.size, 5000);
});
