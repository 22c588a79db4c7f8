import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_REFRESH_POLICY as P, needsRefresh } from './policy.ts';

const MIN = 60_000;

test('an hour-long token is refreshed in its last 5 minutes, not before', () => {
  const obtainedAt = 0;
  const expiresAt = 60 * MIN;
  assert.equal(needsRefresh({ obtainedAt, expiresAt }, 54 * MIN, P), false);
  assert.equal(needsRefresh({ obtainedAt, expiresAt }, 55 * MIN, P), true);
});

test('a 5-minute token is refreshed only in its last 15% (45 s), not on every read', () => {
  const obtainedAt = 0;
  const expiresAt = 5 * MIN;
  assert.equal(needsRefresh({ obtainedAt, expiresAt }, 1 * MIN, P), false);
  assert.equal(needsRefresh({ obtainedAt, expiresAt }, 4 * MIN, P), false);
  assert.equal(needsRefresh({ obtainedAt, expiresAt }, 5 * MIN - 45_000, P), true);
});

test('an expired token needs refresh; a token with no known lifetime does not', () => {
  assert.equal(needsRefresh({ obtainedAt: 0, expiresAt: 10 }, 11, P), true);
  assert.equal(needsRefresh({ obtainedAt: 0, expiresAt: null }, 10 ** 12, P), false);
});

test('the refresh-ahead window is configurable', () => {
  const policy = { ...P, refreshAheadMs: 1 * MIN };
  assert.equal(needsRefresh({ obtainedAt: 0, expiresAt: 60 * MIN }, 58 * MIN, policy), false);
  assert.equal(needsRefresh({ obtainedAt: 0, expiresAt: 60 * MIN }, 59 * MIN, policy), true);
});
