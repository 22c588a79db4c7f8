import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventGroups } from './groups.ts';
import type { PackedEntry } from './packed.ts';

const read = (connection: string | null, at: number, key = 'key_1', member: string | null = 'mem_1'): PackedEntry =>
  ['org_1', at, 'api_key', key, 'token.read', 'ok', 'int_1', connection, null, member];

test('events of one connection by one actor are one entry; other actors, members and connections have their own; each closes when due, oldest first', () => {
  const groups = new EventGroups(1000);
  assert.equal(groups.add(read('conn_a', 10_000), 0), null);
  assert.equal(groups.add(read('conn_b', 10_005), 100), null);
  assert.equal(groups.add(read('conn_a', 10_040), 200), null);
  assert.equal(groups.add(read('conn_a', 10_050, 'key_2'), 300), null);
  assert.equal(groups.add(read('conn_a', 10_060, 'key_1', 'mem_2'), 300), null);
  assert.equal(groups.add(read('conn_a', 10_090), 400), null);
  assert.equal(groups.size, 4);
  const out: PackedEntry[] = [];
  groups.closeDue(999, out);
  assert.deepEqual(out, [], 'nothing is due before its window has passed');
  groups.closeDue(1100, out);
  assert.deepEqual(out, [
    ['org_1', 10_000, 'api_key', 'key_1', 'token.read', 'ok', 'int_1', 'conn_a', { count: 3, laterMs: [40, 90] }, 'mem_1'],
    read('conn_b', 10_005),
  ]);
  groups.closeDue(Infinity, out);
  assert.deepEqual(out.slice(2), [read('conn_a', 10_050, 'key_2'), read('conn_a', 10_060, 'key_1', 'mem_2')]);
  assert.equal(groups.size, 0);
  assert.equal(groups.add(read('conn_a', 20_000), 2000), null, 'a later event opens a new group');
  assert.equal(groups.size, 1);
});

test('a full group is handed back by the event that fills it, and the next event opens a new one', () => {
  const groups = new EventGroups(1000, 3);
  assert.equal(groups.add(read('conn_a', 1), 0), null);
  assert.equal(groups.add(read('conn_a', 2), 0), null);
  assert.deepEqual(groups.add(read('conn_a', 4), 0), ['org_1', 1, 'api_key', 'key_1', 'token.read', 'ok', 'int_1', 'conn_a', { count: 3, laterMs: [1, 3] }, 'mem_1']);
  assert.equal(groups.size, 0);
  assert.equal(groups.add(read('conn_a', 5), 0), null);
  const out: PackedEntry[] = [];
  groups.closeDue(Infinity, out);
  assert.deepEqual(out, [read('conn_a', 5)]);
});

test('an event timed before the first (the clock set back) counts as at the same moment', () => {
  const groups = new EventGroups(1000);
  groups.add(read(null, 5000), 0);
  groups.add(read(null, 4000), 0);
  const out: PackedEntry[] = [];
  groups.closeDue(Infinity, out);
  assert.deepEqual(out[0]![8], { count: 2, laterMs: [0] });
});

test('many groups opened and closed in turn: none is lost and none closes twice', () => {
  const groups = new EventGroups(10);
  const out: PackedEntry[] = [];
  let events = 0;
  for (let t = 0; t < 5000; t++) {
    groups.add(read(`conn_${t % 37}`, t), t);
    events++;
    if (t % 7 === 0) groups.closeDue(t, out);
  }
  groups.closeDue(Infinity, out);
  const counted = out.reduce((n, e) => n + ((e[8] as { count?: number } | null)?.count ?? 1), 0);
  assert.equal(counted, events);
  assert.equal(new Set(out).size, out.length);
  assert.equal(groups.size, 0);
});

test('events with a detail group only with an equal detail (arrays item by item), and keep each one\'s duration', () => {
  const groups = new EventGroups(1000);
  const call = (at: number, detail: Record<string, unknown>): PackedEntry => ['org_1', at, 'api_key', 'key_1', 'proxy.call', 'ok', 'int_1', 'conn_a', detail, 'mem_1'];
  const items = (query: string[], status = 200) => ({ method: 'GET', path: '/items', query, status, retried: false });
  assert.equal(groups.add(call(1_000, items(['page'])), 0, 12), null);
  assert.equal(groups.add(call(1_040, items(['page'])), 0, 7), null);
  assert.equal(groups.add(call(1_050, items(['cursor'])), 0, 3), null, 'other query names');
  assert.equal(groups.add(call(1_060, items(['page', 'x'])), 0, 3), null, 'more query names');
  assert.equal(groups.add(call(1_070, items(['page'], 404)), 0, 5), null, 'another status');
  assert.equal(groups.add(call(1_080, { ...items(['page']), aborted: true }), 0, 1), null, 'an extra key');
  assert.equal(groups.add(call(1_090, items(['page'])), 0, 9), null);
  assert.equal(groups.size, 5);
  const out: PackedEntry[] = [];
  groups.closeDue(Infinity, out);
  assert.deepEqual(out.map((e) => e[8]), [
    { ...items(['page']), durationMs: 12, count: 3, laterMs: [40, 90], laterDurationMs: [7, 9] },
    { ...items(['cursor']), durationMs: 3 },
    { ...items(['page', 'x']), durationMs: 3 },
    { ...items(['page'], 404), durationMs: 5 },
    { ...items(['page']), aborted: true, durationMs: 1 },
  ]);
});

test('the same event object recorded again joins the group it went into, until that group closes; then it is packed and opens a new one', () => {
  const groups = new EventGroups(1000, 4);
  const source = { any: 'event object' };
  const other = { any: 'an equal event, another object' };
  assert.equal(groups.addAgain(source, 10_010), undefined, 'never added: the caller packs it');
  assert.equal(groups.add(read('conn_a', 10_000), 0, null, source), null);
  assert.equal(groups.addAgain(source, 10_020), null, 'joined without packing');
  assert.equal(groups.addAgain(other, 10_025), undefined, 'another object is not taken for it');
  assert.equal(groups.add(read('conn_a', 10_030), 0, null, other), null, 'packed, it joins the equal group');
  assert.deepEqual(groups.addAgain(other, 10_040), ['org_1', 10_000, 'api_key', 'key_1', 'token.read', 'ok', 'int_1', 'conn_a', { count: 4, laterMs: [20, 30, 40] }, 'mem_1'], 'the fourth event fills it');
  assert.equal(groups.size, 0);
  assert.equal(groups.addAgain(source, 10_050), undefined, 'its group closed: packed again');
  assert.equal(groups.addAgain(other, 10_050), undefined);
  assert.equal(groups.add(read('conn_a', 10_050), 0, null, source), null);
  assert.equal(groups.addAgain(source, 10_060), null);
  const out: PackedEntry[] = [];
  groups.closeDue(Infinity, out);
  assert.deepEqual(out, [['org_1', 10_050, 'api_key', 'key_1', 'token.read', 'ok', 'int_1', 'conn_a', { count: 2, laterMs: [10] }, 'mem_1']]);
  assert.equal(groups.addAgain(source, 10_070), undefined, 'closed by its window: forgotten too');
});
