import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { CLIENT_SECRET, startAndAuthorize, startProvider } from './helpers/keyway.ts';
import { CookieJar } from './helpers/browserless.ts';
import { type SpawnedKeyway, type Upstream, spawnKeyway, startUpstream } from './helpers/upstream.ts';

const MB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** `total` bytes of 'a' in 64 KB chunks, honouring backpressure. */
async function* bytesOf(total: number): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += CHUNK.length) yield total - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, total - sent);
}

function sha256Of(total: number): string {
  const h = createHash('sha256');
  for (let sent = 0; sent < total; sent += CHUNK.length) h.update(total - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, total - sent));
  return h.digest('hex');
}

/** Resolves when `check` holds, polling; rejects after `ms` with `what` (a deadlock shows as a clear failure). */
function waitFor(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (check()) { clearInterval(timer); resolve(); }
      else if (Date.now() - started > ms) { clearInterval(timer); reject(new Error(`timed out waiting: ${what}`)); }
    }, 5);
  });
}

/** Samples the Keyway process's RSS while `work` runs; returns the peak. */
async function peakRssDuring(kw: SpawnedKeyway, work: () => Promise<void>): Promise<number> {
  let peak = kw.rss();
  const timer = setInterval(() => { peak = Math.max(peak, kw.rss()); }, 10);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, kw.rss());
}

/** Uploads `total` bytes with a declared length through node:http; `pause` may hold the rest back. */
function upload(url: string, key: string, total: number, pause?: { after: number; until: () => Promise<void> }): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: u.hostname, port: u.port, path: u.pathname, method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream', 'content-length': String(total) },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    (async () => {
      let sent = 0;
      for await (const chunk of bytesOf(total)) {
        if (pause && sent === pause.after) await pause.until();
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        sent += chunk.length;
      }
      req.end();
    })().catch(reject);
  });
}

describe('gateway: bodies stream both ways through a separate Keyway process', { timeout: 180_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyway-stream-'));
  let kw: SpawnedKeyway;
  let provider: SandboxServer;
  let upstream: Upstream;
  let conn: string;
  let releaseDownload = false;
  let uploadReceived = 0;

  before(async () => {
    provider = await startProvider();
    upstream = await startUpstream(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://upstream.invalid');
      if (url.pathname === '/api/large') {
        const total = Number(url.searchParams.get('bytes'));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
        await pipeline(bytesOf(total), res);
      } else if (url.pathname === '/api/gated-download') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(4 * MB) });
        await pipeline(bytesOf(MB), res, { end: false });
        // The rest only once the caller has the first megabyte: a gateway that buffers never lets it through.
        await waitFor(() => releaseDownload, 'the caller to receive the first megabyte');
        await pipeline(bytesOf(3 * MB), res);
      } else if (url.pathname === '/api/upload') {
        const h = createHash('sha256');
        let bytes = 0;
        for await (const c of req) {
          h.update(c as Buffer);
          bytes += (c as Buffer).length;
          uploadReceived = bytes;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ bytes, sha256: h.digest('hex'), authorization: req.headers.authorization ?? null }));
      } else {
        res.writeHead(404).end();
      }
    });
    kw = await spawnKeyway(dataDir);
    const clientId = 'streaming-client';
    const created = await kw.api('POST', '/v1/integrations', {
      provider: 'custom', clientId, clientSecret: CLIENT_SECRET, issuer: provider.issuer, scopes: ['openid', 'offline_access'], apiBaseUrl: `${upstream.url}/api`,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await provider.sandbox.registerClient({ clientId, clientSecret: CLIENT_SECRET, redirectUris: [created.body.redirectUri] });
    const session = await kw.api('POST', '/v1/connect-sessions', { integration: created.body.id });
    const jar = new CookieJar();
    const { callbackUrl } = await startAndAuthorize(session.body.connectUrl, provider, jar);
    assert.match(await (await jar.fetch(callbackUrl)).text(), /Connected!/);
    conn = (await kw.api('GET', `/v1/connect-sessions/${session.body.id}`)).body.connection;
    assert.ok(conn);
  });
  after(async () => {
    await kw?.stop();
    await upstream?.close();
    await provider?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const proxyUrl = (path: string) => `${kw.url}/v1/proxy/${conn}${path}`;

  async function download(path: string, onBytes?: (n: number) => void): Promise<{ status: number; bytes: number; sha256: string }> {
    const res = await fetch(proxyUrl(path), { headers: { authorization: `Bearer ${kw.apiKey}` } });
    const h = createHash('sha256');
    let bytes = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      h.update(chunk);
      bytes += chunk.length;
      onBytes?.(bytes);
    }
    return { status: res.status, bytes, sha256: h.digest('hex') };
  }

  test('a download reaches the caller while the provider is still sending it', async () => {
    releaseDownload = false;
    const got = await download('/gated-download', (n) => { if (n >= MB) releaseDownload = true; });
    assert.equal(got.status, 200);
    assert.equal(got.bytes, 4 * MB);
  });

  test('an upload reaches the provider while the caller is still sending it', async () => {
    uploadReceived = 0;
    const res = await upload(proxyUrl('/upload'), kw.apiKey, 4 * MB, {
      after: MB, until: () => waitFor(() => uploadReceived >= MB, 'the provider to receive the first megabyte'),
    });
    assert.equal(res.status, 200, res.body);
    assert.equal(JSON.parse(res.body).bytes, 4 * MB);
  });

  test('a 20 MB upload passes through intact', async () => {
    const up = await upload(proxyUrl('/upload'), kw.apiKey, 20 * MB);
    assert.equal(up.status, 200, up.body);
    const seen = JSON.parse(up.body) as { bytes: number; sha256: string; authorization: string };
    assert.equal(seen.bytes, 20 * MB);
    assert.equal(seen.sha256, sha256Of(20 * MB));
    assert.match(seen.authorization, /^Bearer /);
  });

  test('the Keyway process\'s memory does not grow with the body: 100 MB and 300 MB downloads, a 200 MB upload', async () => {
    await download(`/large?bytes=${4 * MB}`); // warm up: JIT, socket buffers, caches
    const baseline = kw.rss();
    // A gateway that held a body would grow by at least its size; one that streams stays within
    // a bound set by the garbage collector, whatever the size.
    const limit = 90 * MB;
    for (const size of [100, 300]) {
      let got = { status: 0, bytes: 0, sha256: '' };
      const peak = await peakRssDuring(kw, async () => { got = await download(`/large?bytes=${size * MB}`); });
      assert.equal(got.status, 200);
      assert.equal(got.bytes, size * MB);
      assert.equal(got.sha256, sha256Of(size * MB));
      process.stdout.write(`# Keyway RSS ${(baseline / MB).toFixed(0)} MB before; at most +${((peak - baseline) / MB).toFixed(1)} MB during a ${size} MB download\n`);
      assert.ok(peak - baseline < limit, `RSS grew ${((peak - baseline) / MB).toFixed(1)} MB during a ${size} MB download`);
    }
    let up = { status: 0, body: '' };
    const peak = await peakRssDuring(kw, async () => { up = await upload(proxyUrl('/upload'), kw.apiKey, 200 * MB); });
    assert.equal(up.status, 200, up.body);
    assert.equal(JSON.parse(up.body).bytes, 200 * MB);
    process.stdout.write(`# Keyway RSS at most +${((peak - baseline) / MB).toFixed(1)} MB during a 200 MB upload\n`);
    assert.ok(peak - baseline < limit, `RSS grew ${((peak - baseline) / MB).toFixed(1)} MB during a 200 MB upload`);
  });
});
