import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type BodyFacts, isTextBody, showBody, utf8Prefix } from './body.ts';
import { gatewayTarget, requestBody, requestHeaders } from './call-request.ts';

const facts = (over: Partial<BodyFacts>): BodyFacts => ({
  contentType: 'application/json', contentLength: null, kept: Buffer.alloc(0), read: 0, complete: true, limit: 16,
  link: undefined, acceptRanges: undefined, ...over,
});

test('text is told by its type, and an unlabelled body by its bytes', () => {
  assert.ok(isTextBody('application/json; charset=utf-8', Buffer.from('{}')));
  assert.ok(isTextBody('application/vnd.api+json', Buffer.from('{}')));
  assert.ok(isTextBody('text/csv', Buffer.from('a,b')));
  assert.ok(isTextBody('application/octet-stream', Buffer.from('plain words\n')));
  assert.ok(isTextBody(undefined, Buffer.from('héllo')));
  assert.ok(!isTextBody('application/octet-stream', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1])));
  assert.ok(!isTextBody('image/png', Buffer.from('looks like text')));
  assert.ok(!isTextBody('application/pdf', Buffer.from('%PDF-1.7')));
});

test('a cut in the middle of a character is stepped back over', () => {
  const e = Buffer.from('aé€😀');
  assert.equal(utf8Prefix(e), 'aé€😀');
  assert.equal(utf8Prefix(e.subarray(0, e.length - 1)), 'aé€');
  assert.equal(utf8Prefix(e.subarray(0, 2)), 'a');
  assert.equal(utf8Prefix(Buffer.from([0x61, 0xff, 0x62])), null);
});

test('a small body is shown whole; a large one is cut with a note naming the sizes and how to page', () => {
  const whole = showBody(facts({ kept: Buffer.from('{"a":1}'), read: 7 }));
  assert.deepEqual([whole.kind, whole.text, whole.truncated, whole.note], ['text', '{"a":1}', false, null]);

  const body = Buffer.from(`{"data":[${'1,'.repeat(50)}1],"next_cursor":"abc"}`);
  const cut = showBody(facts({ kept: body.subarray(0, 16), read: body.length }));
  assert.equal(cut.truncated, true);
  assert.equal(cut.text, body.subarray(0, 16).toString());
  assert.match(cut.note ?? '', new RegExp(`showing the first 16 bytes of ${body.length} bytes`));
  assert.match(cut.note ?? '', /JSON shown is therefore incomplete/);

  const linked = showBody(facts({ kept: body.subarray(0, 16), read: 1000, complete: false, link: '<https://api.example/items?page=2>; rel="next"' }));
  assert.match(linked.note ?? '', /of more than 1,000 bytes/);
  assert.match(linked.note ?? '', /https:\/\/api\.example\/items\?page=2/);

  const ranged = showBody(facts({ contentType: 'text/plain', kept: Buffer.from('x'.repeat(16)), read: 64, acceptRanges: 'bytes' }));
  assert.match(ranged.note ?? '', /"Range": "bytes=16-31"/);
});

test('a binary body is described, never shown; an empty body is said to be empty', () => {
  const bin = showBody(facts({ contentType: 'image/png', contentLength: 5000, kept: Buffer.from([0x89, 0x50, 0, 0]), read: 5000 }));
  assert.equal(bin.kind, 'binary');
  assert.equal(bin.text, 'Binary body not shown (image/png, 5,000 bytes).');
  assert.equal(showBody(facts({})).kind, 'empty');
});

test('call_api arguments become a gateway target, headers and body', () => {
  assert.equal(gatewayTarget('users/me', undefined), '/users/me');
  assert.equal(gatewayTarget('/search?q=a b#frag', { limit: 5, tag: ['x', 'y'], all: true }), '/search?q=a%20b&limit=5&tag=x&tag=y&all=true');
  assert.equal(gatewayTarget('/files/é.txt', {}), '/files/%C3%A9.txt');
  assert.equal(gatewayTarget('/../admin', undefined), '/../admin', 'left for the gateway to refuse');
  const h = requestHeaders({ Accept: 'text/csv', Authorization: 'Bearer x', 'Keyway-Base-Url': 'https://x', 'Accept-Encoding': 'gzip' });
  assert.deepEqual(h, { accept: 'text/csv' });
  assert.throws(() => requestHeaders({ 'bad name': 'x' }), /not valid/);
  assert.throws(() => requestHeaders({ 'x-a': 'a\r\nb: c' }), /line break/);
  const json: Record<string, string> = {};
  assert.equal(requestBody({ name: 'x' }, json)?.toString(), '{"name":"x"}');
  assert.equal(json['content-type'], 'application/json');
  const form: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  assert.equal(requestBody('a=1&b=2', form)?.toString(), 'a=1&b=2');
  assert.equal(requestBody(undefined, {}), null);
});
