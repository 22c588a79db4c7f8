import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterPoll, endOfPoll } from './device-poller.ts';
import { compareAccount, describeAccount } from './identity.ts';

test('authorization_pending keeps the interval; slow_down adds 5 s for this and every later poll (RFC 8628 §3.5)', () => {
  assert.deepEqual(afterPoll('pending', 5, 1000), { pollIntervalS: 5, nextPollAt: 6000 });
  const slowed = afterPoll('slow_down', 5, 1000);
  assert.deepEqual(slowed, { pollIntervalS: 10, nextPollAt: 11_000 });
  assert.deepEqual(afterPoll('pending', slowed.pollIntervalS ?? 0, 11_000), { pollIntervalS: 10, nextPollAt: 21_000 });
  assert.deepEqual(afterPoll('unavailable', 10, 0), { pollIntervalS: 10, nextPollAt: 10_000 });
});

test('access_denied and expired_token end the session as denied and expired', () => {
  assert.deepEqual(endOfPoll('denied'), { status: 'denied', error: 'access_denied' });
  assert.deepEqual(endOfPoll('expired'), { status: 'expired', error: 'expired_token' });
});

test('re-authentication accepts only the same issuer and subject', () => {
  const conn = { accountIssuer: 'https://idp', accountSubject: 'alice' };
  assert.equal(compareAccount(conn, { issuer: 'https://idp', subject: 'alice', label: null }), 'same');
  assert.equal(compareAccount(conn, { issuer: 'https://idp', subject: 'bob', label: null }), 'other');
  assert.equal(compareAccount(conn, { issuer: 'https://other-idp', subject: 'alice', label: null }), 'other');
  assert.equal(compareAccount(conn, null), 'unverifiable');
  assert.equal(compareAccount({ accountIssuer: null, accountSubject: null }, null), 'first');
  assert.equal(describeAccount('alice@example.com', '42'), 'alice@example.com (42)');
  assert.equal(describeAccount(null, 'alice'), 'alice');
});
