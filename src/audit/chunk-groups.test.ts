import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkGroups } from './chunk-groups.ts';
import { type RepeatChunk, RepeatChunks } from './repeat-chunks.ts';
import type { PackedEntry } from './packed.ts';

const entryOf = (e: { connection: string }, at: number): PackedEntry => ['org_1', at, 'api_key', 'key_1', 'token.read', 'ok', 'int_1', e.connection, null, null];

/** RepeatChunks posting into a list, and the events it is handed. */
function chunker() {
  const posted: RepeatChunk[] = [];
  const chunks = new RepeatChunks((c) => posted.push(c));
  return { posted, chunks, a: { connection: 'conn_a' }, b: { connection: 'conn_b' } };
}

test('a chunk is told stored only once every event in it, and in every chunk before it, is in a closed group', () => {
  const { posted, chunks, a, b } = chunker();
  const groups = new ChunkGroups(1000);
  const full: PackedEntry[] = [];
  chunks.add(a, 10, null, entryOf);
  chunks.send();
  groups.take(posted[0]!, 0, full);
  chunks.add(b, 20, null, entryOf);
  chunks.send();
  groups.take(posted[1]!, 500, full);
  chunks.add(a, 30, null, entryOf); // joins the group opened in chunk 1
  chunks.send();
  groups.take(posted[2]!, 600, full);
  assert.equal(groups.closedThrough(), 0, 'a\'s group (chunk 1) is open');
  const out: PackedEntry[] = [];
  groups.closeDue(1000, out);
  assert.deepEqual(out.map((e) => [e[7], e[1], e[8]]), [['conn_a', 10, { count: 2, laterMs: [20] }]]);
  assert.equal(groups.closedThrough(), 1, 'b\'s group, opened in chunk 2, is still open');
  groups.closeDue(1500, out);
  assert.equal(groups.closedThrough(), 3);
  assert.deepEqual(full, []);
});

test('events sent once are named by id after; each use keeps its time and duration; what is not stored is given back in order', () => {
  const { posted, chunks, a, b } = chunker();
  chunks.add(a, 10, 5, entryOf);
  chunks.add(b, 11, null, entryOf);
  chunks.send();
  chunks.add(a, 12, 7, entryOf);
  chunks.send();
  chunks.add(b, 13, null, entryOf);
  assert.deepEqual(posted.map((c) => [c.seq, c.events.map(([id, e]) => [id, e[7], e[1]]), [...c.data]]), [
    [1, [[1, 'conn_a', 10], [2, 'conn_b', 11]], [1, 10, 5, 2, 11, NaN]],
    [2, [], [1, 12, 7]],
  ]);
  chunks.durable(1, 0);
  assert.equal(chunks.holding, true);
  assert.deepEqual(chunks.takeBack().map((t) => [t.source, t.at, t.durationMs]), [[a, 12, 7], [b, 13, null]]);
  assert.equal(chunks.holding, false);
});

test('an event whose every use is stored is forgotten on both sides; used again, it is sent again under a new id', () => {
  const { posted, chunks, a, b } = chunker();
  const groups = new ChunkGroups(1000);
  const out: PackedEntry[] = [];
  chunks.add(a, 10, null, entryOf);
  chunks.add(b, 10, null, entryOf);
  chunks.send();
  chunks.add(b, 20, null, entryOf);
  chunks.send();
  groups.take(posted[0]!, 0, out);
  groups.take(posted[1]!, 0, out);
  groups.closeDue(Infinity, out);
  assert.equal(groups.closedThrough(), 2);
  chunks.add(b, 25, null, entryOf); // in chunk 3, not yet sent
  chunks.durable(2, 5000); // a's last use was in chunk 1: let go; b's is in chunk 3: kept
  chunks.add(a, 30, null, entryOf);
  chunks.send();
  assert.deepEqual(posted[2]!.forget, [1]);
  assert.deepEqual(posted[2]!.events.map(([id, e]) => [id, e[7], e[1]]), [[3, 'conn_a', 30]]);
  assert.deepEqual([...posted[2]!.data], [2, 25, NaN, 3, 30, NaN]);
  groups.take(posted[2]!, 0, out);
  groups.closeDue(Infinity, out);
  assert.deepEqual(out.map((e) => [e[7], e[1], e[8]]), [
    ['conn_a', 10, null],
    ['conn_b', 10, { count: 2, laterMs: [10] }],
    ['conn_b', 25, null],
    ['conn_a', 30, null],
  ]);
  assert.throws(() => groups.take({ seq: 4, events: [], forget: [], data: new Float64Array([1, 40, NaN]) }, 0, out), /names an event the thread was never sent \(1\)/);
});
