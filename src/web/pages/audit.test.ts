import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditTime } from './audit.ts';

test('an audit time filter typed as the page shows times is sent to the API as ISO 8601', () => {
  assert.equal(auditTime('2026-11-24 05:27 UTC'), '2026-11-24T05:27:00Z');
  assert.equal(auditTime('2026-11-24 05:27:09 UTC'), '2026-11-24T05:27:09Z');
  assert.equal(auditTime('2026-11-24 05:27'), '2026-11-24T05:27:00Z');
  assert.equal(auditTime('2026-11-24'), '2026-11-24T00:00:00Z');
  assert.equal(auditTime('2026-11-24T05:27:00.123Z'), '2026-11-24T05:27:00.123Z');
});

test('an audit time filter that is no time is passed on unchanged, for the API to refuse with its reason', () => {
  assert.equal(auditTime('yesterday'), 'yesterday');
  assert.equal(auditTime('2026-13-40'), '2026-13-40');
});
