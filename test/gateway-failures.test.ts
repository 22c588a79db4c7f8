/**
 * When a call through the gateway goes wrong on either side: the provider cannot be reached, drops
 * the connection before or during its answer, or the caller goes away mid-download. The caller
 * gets a clear error (or a cut connection, never a truncated body that looks complete), the
 * provider's request is not left running, the audit says what happened, and Keyway keeps serving.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { parseDefinition } from '../src/catalog/index.ts';
import { loadConfig } from '../src/core/config.ts';
import { cryptoRandom, newId } from '../src/core/index.ts';
import { type TestKeyway, freePort, startTestKeyway } from './helpers/keyway.ts';
import { type Upstream, echo, startUpstream } from './helpers/upstream.ts';

const STORED_KEY = 'stored-key-7c41e9';
/** KEYWAY_GATEWAY_TIMEOUT_MS for this file's Keyway: short, so a provider that stalls is given up on in a test's time. */
const TIMEOUT_MS = 800;

interface AuditEntry {
  outcome: string;
  detail: { path: string; status?: number | null; aborted?: boolean; code?: string; durationMs?: number };
}

/** Polls until `check` holds (bounded: 10 s), for what happens after the answer (an aborted call's entry). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + 10_000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('gateway: failures on either side of a call', () => {
  let t: TestKeyway;
  let upstream: Upstream;
  let conn: string;
  let unreachableConn: string;
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${t.apiKey}` });

  const auditOf = async (path: string): Promise<AuditEntry | undefined> => {
    const res = await t.api('GET', `/v1/audit?action=proxy.call&connection=${conn}`);
    assert.equal(res.status, 200);
    return (res.body.data as AuditEntry[]).find((e) => e.detail.path === path);
  };

  before(async () => {
    upstream = await startUpstream();
    const closedPort = await freePort(); // nothing listens there
    t = await startTestKeyway({
      env: { KEYWAY_GATEWAY_TIMEOUT_MS: String(TIMEOUT_MS) },
      extraDefinitions: [
        parseDefinition({ id: 'flaky-local', name: 'Flaky API', grants: [], credential: 'api_key', api: { baseUrls: [`${upstream.url}/api`] } }, 'test'),
        parseDefinition({ id: 'gone-local', name: 'Gone API', grants: [], credential: 'api_key', api: { baseUrls: [`http://127.0.0.1:${closedPort}/api`] } }, 'test'),
      ],
    });
    for (const [provider, set] of [['flaky-local', (id: string) => { conn = id; }], ['gone-local', (id: string) => { unreachableConn = id; }]] as const) {
      const integ = await t.api('POST', '/v1/integrations', { provider });
      assert.equal(integ.status, 201, JSON.stringify(integ.body));
      const c = await t.api('POST', '/v1/connections', { integration: integ.body.id, type: 'api_key', apiKey: STORED_KEY });
      assert.equal(c.status, 201, JSON.stringify(c.body));
      set(c.body.id);
    }
  });
  after(async () => {
    await t.close();
    await upstream.close();
  });

  test('a provider that cannot be reached: 503 provider_unavailable with Retry-After and a message saying to retry; audited as failed', async () => {
    const res = await fetch(`${t.kw.url}/v1/proxy/${unreachableConn}/items`, { headers: auth() });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('keyway-error'), 'provider_unavailable');
    assert.equal(res.headers.get('retry-after'), '5');
    const body = await res.json() as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'provider_unavailable');
    assert.match(body.error.message, /could not be reached; retry shortly/);
    const entries = (await t.api('GET', `/v1/audit?action=proxy.call&connection=${unreachableConn}`)).body.data as AuditEntry[];
    const entry = entries.find((e) => e.detail.path === '/items');
    assert.ok(entry, JSON.stringify(entries));
    assert.equal(entry.outcome, 'error');
    assert.equal(entry.detail.code, 'provider_unavailable');
    assert.equal(entry.detail.status ?? null, null, 'no provider status: none answered');
  });

  test('a provider that drops the connection before answering: 503 provider_unavailable, and the next call goes through', async () => {
    upstream.handle((req) => { req.socket.destroy(); });
    const res = await fetch(`${t.kw.url}/v1/proxy/${conn}/dropped`, { headers: auth() });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('keyway-error'), 'provider_unavailable');
    const text = await res.text();
    assert.ok(!text.includes(STORED_KEY) && !text.includes(t.apiKey), 'no credential in the error');
    const entry = await eventually('the dropped call\'s audit entry', () => auditOf('/dropped'));
    assert.equal(entry.outcome, 'error');
    assert.equal(entry.detail.code, 'provider_unavailable');

    upstream.handle(echo);
    const next = await fetch(`${t.kw.url}/v1/proxy/${conn}/after-drop`, { headers: auth() });
    assert.equal(next.status, 200);
    assert.equal((await next.json() as { url: string }).url, '/api/after-drop');
  });

  test('a provider that drops the connection mid-answer: the caller\'s connection is cut, never a clean end of a short body; audited as aborted', async () => {
    // Chunked, no length: only how the connection ends tells the caller whether the body is whole.
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(64 * 1024, 1));
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const outcome = await new Promise<{ status: number; received: number; ended: 'complete' | 'cut' }>((resolve, reject) => {
      const req = httpRequest(`${t.kw.url}/v1/proxy/${conn}/cut-download`, { headers: auth() }, (res) => {
        let received = 0;
        res.on('data', (c: Buffer) => { received += c.length; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, received, ended: 'complete' }));
        res.on('aborted', () => resolve({ status: res.statusCode ?? 0, received, ended: 'cut' }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, received, ended: 'cut' }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(outcome.status, 200, 'the provider\'s status had already gone back');
    assert.equal(outcome.ended, 'cut', `the caller must see the body cut short, not complete (${outcome.received} bytes)`);
    assert.ok(outcome.received <= 64 * 1024);
    const entry = await eventually('the cut call\'s audit entry', () => auditOf('/cut-download'));
    assert.equal(entry.outcome, 'error');
    assert.equal(entry.detail.aborted, true);
    assert.equal(entry.detail.status, 200);

    upstream.handle(echo);
    assert.equal((await fetch(`${t.kw.url}/v1/proxy/${conn}/after-cut`, { headers: auth() })).status, 200);
  });

  test('a caller that goes away mid-download: the provider\'s answer is stopped, not read to its end; audited as aborted', async () => {
    let providerClosed = false;
    let providerSent = 0;
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(16 * 1024, 2);
      // An endless download, bounded here: at most 30 s or 1 GB, whichever comes first.
      const started = Date.now();
      const timer = setInterval(() => {
        if (Date.now() - started > 30_000 || providerSent > 1024 ** 3) { clearInterval(timer); res.end(); return; }
        res.write(chunk);
        providerSent += chunk.length;
      }, 5);
      res.on('close', () => { providerClosed = true; clearInterval(timer); });
    });
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${t.kw.url}/v1/proxy/${conn}/endless-download`, { headers: auth() }, (res) => {
        assert.equal(res.statusCode, 200);
        res.once('data', () => { req.destroy(); resolve(); });
      });
      req.on('error', (e) => { if (!req.destroyed) reject(e); });
      req.end();
    });
    await eventually('the provider\'s answer to be stopped', async () => (providerClosed ? true : undefined));
    const sentWhenStopped = providerSent;
    assert.ok(sentWhenStopped < 1024 ** 3, 'stopped long before its end');
    const entry = await eventually('the abandoned call\'s audit entry', () => auditOf('/endless-download'));
    assert.equal(entry.outcome, 'error');
    assert.equal(entry.detail.aborted, true);

    upstream.handle(echo);
    assert.equal((await fetch(`${t.kw.url}/v1/proxy/${conn}/after-leave`, { headers: auth() })).status, 200);
  });

  test('a provider answer whose headers are too large to read: 502 provider_error saying the request did reach it, without Retry-After', async () => {
    let ran = 0;
    upstream.handle((_req, res) => {
      ran += 1;
      res.writeHead(201, { 'content-type': 'application/json', 'x-huge': 'h'.repeat(17_000) });
      res.end('{"created":true}');
    });
    const res = await fetch(`${t.kw.url}/v1/proxy/${conn}/orders`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: '{"item":1}' });
    assert.equal(res.status, 502);
    assert.equal(res.headers.get('keyway-error'), 'provider_error');
    assert.equal(res.headers.get('retry-after'), null, 'retrying would run the request again');
    const body = await res.json() as { error: { message: string } };
    assert.match(body.error.message, /headers larger than Keyway reads.*did reach the provider/);
    assert.equal(ran, 1);
    const entry = await eventually('the call\'s audit entry', () => auditOf('/orders'));
    assert.equal(entry.detail.code, 'provider_error');
    upstream.handle(echo);
  });

  test('an API key that cannot go in a header (a pasted line break): refused when stored; one stored before gets a 409 naming the connection, nothing sent', async () => {
    const integ = (await t.api('GET', '/v1/integrations')).body.data.find((i: { provider: string }) => i.provider === 'flaky-local');
    const refused = await t.api('POST', '/v1/connections', { integration: integ.id, type: 'api_key', apiKey: 'key-part-one\nkey-part-two' });
    assert.equal(refused.status, 400);
    assert.match(refused.body.error.message, /API key holds a line break.*exactly as the provider issued it/);
    assert.ok(!JSON.stringify(refused.body).includes('key-part'), 'the key is not echoed');
    // One stored before that check: seeded from a good connection's row.
    const { store, vault } = t.kw.services;
    const base = (await store.connections.get(t.kw.orgId, conn))!;
    const id = newId('connection', cryptoRandom);
    await store.connections.insert({ ...base, id, name: 'pasted badly', externalId: null, accessTokenEnc: await vault.encrypt({ orgId: base.orgId, recordId: id, field: 'access_token' }, 'key-part-one\nkey-part-two') });
    const before = upstream.seen.length;
    const res = await fetch(`${t.kw.url}/v1/proxy/${id}/items`, { headers: auth() });
    assert.equal(res.status, 409);
    const body = await res.json() as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'conflict');
    assert.match(body.error.message, /stored credential cannot be sent in an HTTP header.*Replace the connection/);
    assert.ok(!JSON.stringify(body).includes('key-part'), 'the credential is not in the answer');
    assert.equal(upstream.seen.length, before, 'nothing was sent');
  });

  test('a provider that never starts its answer: given up on after KEYWAY_GATEWAY_TIMEOUT_MS with a 503 that says it did not answer in time', async () => {
    let providerGaveUp = false;
    upstream.handle((_req, res) => {
      // Never answers; ends itself after 30 s at the latest, or when Keyway gives up on it.
      const timer = setTimeout(() => res.end(), 30_000);
      res.on('close', () => { providerGaveUp = true; clearTimeout(timer); });
    });
    const started = performance.now();
    const res = await fetch(`${t.kw.url}/v1/proxy/${conn}/slow-report`, { headers: auth() });
    const waited = performance.now() - started;
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('keyway-error'), 'provider_unavailable');
    assert.match((await res.json() as { error: { message: string } }).error.message, /did not answer in time/);
    // undici's timers are coarse (they may fire a few hundred ms early): it waited, then gave up.
    assert.ok(waited >= TIMEOUT_MS / 2, `waited ${waited.toFixed(0)} ms, the timeout is ${TIMEOUT_MS}`);
    assert.ok(waited < 10_000, `given up on after ${waited.toFixed(0)} ms, not the default 120 s`);
    await eventually('the provider\'s request to be closed', async () => (providerGaveUp ? true : undefined));
    const entry = await eventually('the timed-out call\'s audit entry', () => auditOf('/slow-report'));
    assert.equal(entry.outcome, 'error');
    assert.equal(entry.detail.code, 'provider_unavailable');
  });

  test('a provider whose answer stalls mid-body past the timeout: the caller\'s connection is cut, audited as aborted', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(1024, 3));
      const timer = setTimeout(() => res.end(), 30_000); // stalls; ends after 30 s at the latest
      res.on('close', () => clearTimeout(timer));
    });
    const ended = await new Promise<'complete' | 'cut'>((resolve, reject) => {
      const req = httpRequest(`${t.kw.url}/v1/proxy/${conn}/stalled-download`, { headers: auth() }, (res) => {
        res.resume();
        res.on('end', () => resolve('complete'));
        res.on('aborted', () => resolve('cut'));
        res.on('error', () => resolve('cut'));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(ended, 'cut');
    const entry = await eventually('the stalled call\'s audit entry', () => auditOf('/stalled-download'));
    assert.equal(entry.outcome, 'error');
    assert.equal(entry.detail.aborted, true);
    upstream.handle(echo);
  });

  test('an upload that takes longer than the timeout is not cut while the caller is still sending it: the timeout is the provider\'s', async () => {
    upstream.handle(async (req, res) => {
      let bytes = 0;
      for await (const c of req) bytes += (c as Buffer).length;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ bytes }));
    });
    const chunks = 20;
    const started = performance.now();
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${t.kw.url}/v1/proxy/${conn}/slow-upload`, { method: 'PUT', headers: { ...auth(), 'content-type': 'application/octet-stream' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { body += c; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      let sent = 0;
      const next = (): void => {
        if (sent === chunks) { req.end(); return; }
        sent += 1;
        req.write(Buffer.alloc(1000, 5));
        setTimeout(next, 100);
      };
      next();
    });
    const took = performance.now() - started;
    assert.ok(took > 2 * TIMEOUT_MS, `the upload took ${took.toFixed(0)} ms, longer than the ${TIMEOUT_MS} ms timeout`);
    assert.equal(answer.status, 200, answer.body);
    assert.deepEqual(JSON.parse(answer.body), { bytes: chunks * 1000 });
    upstream.handle(echo);
  });

  test('KEYWAY_GATEWAY_TIMEOUT_MS: 120 s unless set; a value that is not a whole number of milliseconds stops start-up with what to set', () => {
    assert.equal(loadConfig({}).gatewayTimeoutMs, 120_000);
    assert.equal(loadConfig({ KEYWAY_GATEWAY_TIMEOUT_MS: '300000' }).gatewayTimeoutMs, 300_000);
    for (const bad of ['0', '2.5', 'soon', '-1', '3600001']) {
      assert.throws(() => loadConfig({ KEYWAY_GATEWAY_TIMEOUT_MS: bad }), /KEYWAY_GATEWAY_TIMEOUT_MS must be a whole number from 1 to 3600000, got/);
    }
  });

  test('a WebSocket upgrade is refused with a 400 that says what to do instead, and nothing reaches the provider', async () => {
    const before = upstream.seen.length;
    const answer = await new Promise<{ status: number; code: string | undefined; body: string }>((resolve, reject) => {
      const req = httpRequest(`${t.kw.url}/v1/proxy/${conn}/socket`, { headers: { ...auth(), connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { body += c; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, code: res.headers['keyway-error'] as string | undefined, body }));
      });
      req.on('upgrade', () => reject(new Error('the gateway must not switch protocols')));
      req.on('error', reject);
      req.end();
    });
    assert.equal(answer.status, 400);
    assert.equal(answer.code, 'invalid_request');
    assert.match(answer.body, /does not carry WebSocket connections/);
    assert.match(answer.body, /\/token/);
    assert.equal(upstream.seen.length, before, 'nothing was sent to the provider');
  });

  test('TRACE is refused with a 400 saying why, and nothing reaches the provider (it would echo the injected credential)', async () => {
    const before = upstream.seen.length;
    const method = 'TRACE';
    const answer = await new Promise<{ status: number; code: string | undefined; body: string }>((resolve, reject) => {
      const req = httpRequest(`${t.kw.url}/v1/proxy/${conn}/anything`, { method, headers: auth() }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { body += c; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, code: res.headers['keyway-error'] as string | undefined, body }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(answer.status, 400, method);
    assert.equal(answer.code, 'invalid_request');
    assert.match(answer.body, new RegExp(`does not forward ${method}.*credential included.*another method`));
    assert.ok(!answer.body.includes(STORED_KEY));
    assert.equal(upstream.seen.length, before, 'nothing was sent to the provider');
  });

  test('none of these failures put the stored credential or the caller\'s API key in a log line', () => {
    const logs = t.logs.text();
    assert.ok(logs.length > 0);
    assert.ok(!logs.includes(STORED_KEY), 'the stored credential is not logged');
    assert.ok(!logs.includes(t.apiKey), 'the API key is not logged');
  });
});

describe('gateway: stopping Keyway while a call is in flight', () => {
  test('a stop waits for the call, says so in the log, and cuts it after the grace period instead of hanging', async () => {
    const upstream = await startUpstream();
    const t = await startTestKeyway({
      closeGraceMs: 400,
      extraDefinitions: [parseDefinition({ id: 'endless-local', name: 'Endless API', grants: [], credential: 'api_key', api: { baseUrls: [`${upstream.url}/api`] } }, 'test')],
    });
    try {
      const integ = await t.api('POST', '/v1/integrations', { provider: 'endless-local' });
      const conn = (await t.api('POST', '/v1/connections', { integration: integ.body.id, type: 'api_key', apiKey: STORED_KEY })).body.id as string;
      // A download the provider never finishes: without a bound, the stop would wait for it for ever.
      upstream.handle((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write(Buffer.alloc(1024, 1));
      });
      const download = new Promise<'complete' | 'cut'>((resolve, reject) => {
        const req = httpRequest(`${t.kw.url}/v1/proxy/${conn}/endless`, { headers: { authorization: `Bearer ${t.apiKey}` } }, (res) => {
          res.resume();
          res.on('end', () => resolve('complete'));
          res.on('aborted', () => resolve('cut'));
          res.on('error', () => resolve('cut'));
        });
        req.on('error', reject);
        req.end();
      });
      await eventually('the download to start', async () => (upstream.seen.some((s) => s.url === '/api/endless') ? true : undefined));
      let bound: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        t.kw.close().then(() => 'stopped' as const),
        new Promise<'hung'>((r) => { bound = setTimeout(() => r('hung'), 15_000); }),
      ]);
      clearTimeout(bound);
      assert.equal(stopped, 'stopped', 'close() returned while the provider was still sending');
      assert.equal(await download, 'cut', 'the caller sees the download cut, not a clean end');
      assert.match(t.logs.text(), /waiting for the requests in flight to finish/);
      assert.match(t.logs.text(), /cut off/);
    } finally {
      await upstream.close();
      rmSync(t.dataDir, { recursive: true, force: true });
    }
  });
});
