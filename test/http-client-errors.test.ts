/**
 * Requests Node's HTTP parser refuses before any route sees them get Keyway's own error shape: the
 * status, `Keyway-Error` and a message saying what to send instead.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';

/** Sends raw bytes (no client would send them) and reads the whole answer until the server closes. */
async function raw(t: TestKeyway, bytes: Buffer): Promise<{ status: number; headers: string; body: string }> {
  const { port } = new URL(t.kw.url);
  const text = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
  });
  const split = text.indexOf('\r\n\r\n');
  return { status: Number(text.slice(9, 12)), headers: text.slice(0, split).toLowerCase(), body: text.slice(split + 4) };
}

describe('requests that are not valid HTTP get Keyway\'s error shape', () => {
  let t: TestKeyway;
  before(async () => { t = await startTestKeyway(); });
  after(async () => { await t.close(); });

  test('raw UTF-8 in the path: 400 invalid_request saying to percent-encode it', async () => {
    const head = Buffer.concat([Buffer.from('GET /v1/proxy/conn_x/caf'), Buffer.from('é', 'utf8'), Buffer.from(`/x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${t.apiKey}\r\n\r\n`)]);
    const res = await raw(t, head);
    assert.equal(res.status, 400);
    assert.match(res.headers, /keyway-error: invalid_request/);
    const body = JSON.parse(res.body) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'invalid_request');
    assert.match(body.error.message, /Percent-encode characters outside ASCII/);
    assert.ok(!res.body.includes(t.apiKey));
  });

  test('headers over 16 KB: 431 saying to send fewer or smaller ones', async () => {
    const res = await raw(t, Buffer.from(`GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`));
    assert.equal(res.status, 431);
    assert.match(res.headers, /keyway-error: invalid_request/);
    assert.match((JSON.parse(res.body) as { error: { message: string } }).error.message, /headers are larger than Keyway accepts.*fewer or smaller/);
  });

  test('a control character in a header value: 400 with what to send, and the server goes on serving', async () => {
    const res = await raw(t, Buffer.from(`GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Odd: a\x7fb\r\n\r\n`));
    assert.equal(res.status, 400);
    assert.match(res.headers, /keyway-error: invalid_request/);
    assert.match(res.body, /header values of visible ASCII/);
    assert.equal((await t.api('GET', '/v1/me')).status, 200);
  });
});
