import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Principal } from '../access/index.ts';
import type { ConnectionRecord } from '../store/index.ts';
import { CallEventMemo } from './call-event.ts';

const principal = (keyId: string | null, memberId = 'mem_1', orgId = 'org_1'): Principal =>
  ({ orgId, memberId, keyId, scope: { integrations: [], connections: [], tokenRead: true, manage: false } }) as unknown as Principal;
const connection = (id: string, integrationId = 'int_1'): ConnectionRecord => ({ id, integrationId, orgId: 'org_1' }) as unknown as ConnectionRecord;

test('a repeated call gives back the same audit event; any difference in who, where, what or the answer makes a new one with it', () => {
  const memo = new CallEventMemo();
  const key = principal('key_1');
  const conn = connection('conn_a');
  const first = memo.for(key, conn, 'GET', '/items', 'page=1&secret=s', 200, false);
  assert.deepEqual(first, {
    orgId: 'org_1', actor: { type: 'api_key', id: 'key_1', memberId: 'mem_1' }, action: 'proxy.call', outcome: 'ok',
    integrationId: 'int_1', connectionId: 'conn_a', detail: { method: 'GET', path: '/items', query: ['page', 'secret'], status: 200, retried: false },
  });
  assert.ok(!JSON.stringify(first).includes('"s"'), 'no query value');
  assert.equal(memo.for(principal('key_1'), connection('conn_a'), 'GET', `/${'items'}`, 'page=1&secret=s', 200, false), first, 'equal facts in new objects and strings: the same event');

  const changed: [string, () => ReturnType<CallEventMemo['for']>, (e: ReturnType<CallEventMemo['for']>) => unknown, unknown][] = [
    ['status', () => memo.for(key, conn, 'GET', '/items', 'page=1&secret=s', 404, false), (e) => e.detail!['status'], 404],
    ['retried', () => memo.for(key, conn, 'GET', '/items', 'page=1&secret=s', 200, true), (e) => e.detail!['retried'], true],
    ['method', () => memo.for(key, conn, 'POST', '/items', 'page=1&secret=s', 200, false), (e) => e.detail!['method'], 'POST'],
    ['path', () => memo.for(key, conn, 'GET', '/other', 'page=1&secret=s', 200, false), (e) => e.detail!['path'], '/other'],
    ['query', () => memo.for(key, conn, 'GET', '/items', 'cursor=x', 200, false), (e) => e.detail!['query'], ['cursor']],
    ['no query', () => memo.for(key, conn, 'GET', '/items', null, 200, false), (e) => e.detail!['query'], []],
    ['key', () => memo.for(principal('key_2'), conn, 'GET', '/items', null, 200, false), (e) => e.actor.id, 'key_2'],
    ['member', () => memo.for(principal('key_2', 'mem_2'), conn, 'GET', '/items', null, 200, false), (e) => e.actor.memberId, 'mem_2'],
    ['session', () => memo.for(principal(null, 'mem_2'), conn, 'GET', '/items', null, 200, false), (e) => e.actor, { type: 'member', id: 'mem_2' }],
    ['organization', () => memo.for(principal(null, 'mem_2', 'org_2'), conn, 'GET', '/items', null, 200, false), (e) => e.orgId, 'org_2'],
    ['connection', () => memo.for(principal(null, 'mem_2', 'org_2'), connection('conn_b'), 'GET', '/items', null, 200, false), (e) => e.connectionId, 'conn_b'],
    ['integration', () => memo.for(principal(null, 'mem_2', 'org_2'), connection('conn_b', 'int_2'), 'GET', '/items', null, 200, false), (e) => e.integrationId, 'int_2'],
  ];
  let last: ReturnType<CallEventMemo['for']> = first;
  for (const [what, call, field, want] of changed) {
    const e = call();
    assert.notEqual(e, last, `${what}: a new event`);
    assert.deepEqual(field(e), want, what);
    assert.equal(call(), e, `${what}: then the same again`);
    last = e;
  }
  assert.deepEqual(first.detail, { method: 'GET', path: '/items', query: ['page', 'secret'], status: 200, retried: false }, 'an event given out is never changed');
});
