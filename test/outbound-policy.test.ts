/**
 * End-to-end tests of the outbound policy against real servers on 127.0.0.1. Nothing here may send
 * traffic anywhere else: a tripwire on net.Socket#connect fails any socket to another address
 * before it connects, and records every attempt so tests can assert "no connection was made".
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import { request as undiciRequest } from 'undici';
import { isKeywayError } from '../src/core/errors.ts';
import { createOutbound, type LookupFn, type Outbound, type OutboundOptions } from '../src/outbound/index.ts';
import { createPinnedAgent, createPolicyFetch } from '../src/outbound/client.ts';
import { buildAllowList } from '../src/outbound/policy.ts';

// --- tripwire: only loopback sockets may connect ------------------------------------------------

const connectAttempts: string[] = [];
const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
  const first = Array.isArray(args[0]) ? (args[0][0] as unknown) : args[0];
  const host = typeof first === 'object' && first !== null && 'host' in first ? String(first.host) : 'localhost';
  connectAttempts.push(host);
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
    process.nextTick(() => this.destroy(new Error(`test tripwire: refused to connect to ${host}`)));
    return this;
  }
  return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;

// --- helpers ------------------------------------------------------------------------------------

interface Seen {
  method: string;
  url: string;
  host: string;
  authorization: string | undefined;
}

async function startServer(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', authorization: req.headers.authorization });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port, origin: `http://127.0.0.1:${port}`, seen };
}

function outbound(t: TestContext, options: Partial<OutboundOptions> = {}): Outbound {
  const o = createOutbound({ dev: false, allowPrivateHosts: [], ...options });
  t.after(() => o.dispatcher.close());
  return o;
}

/** A resolver from a fixed table, counting calls; unknown names fail like NXDOMAIN. */
function stubLookup(table: Record<string, string[]>): LookupFn & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (hostname: string) => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
  };
  return Object.assign(fn, { calls });
}

function isRefused(e: unknown): boolean {
  return isKeywayError(e, 'outbound_url_refused');
}

/** Runs `fn`, asserts it refused, and that no socket was opened meanwhile. */
async function assertRefusedWithoutConnecting(fn: () => unknown, label: string): Promise<Error> {
  const before = connectAttempts.length;
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(isRefused(caught), `${label}: expected outbound_url_refused, got ${String(caught)}`);
  assert.deepEqual(connectAttempts.slice(before), [], `${label}: a connection was attempted`);
  return caught as Error;
}

const redirectTo = (location: string) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(302, { location }).end();
};

// --- tests --------------------------------------------------------------------------------------

test('refuses the cloud metadata address over http and https', async (t) => {
  for (const o of [outbound(t), outbound(t, { dev: true }), outbound(t, { allowPrivateHosts: ['169.254.169.254'] })]) {
    for (const url of ['http://169.254.169.254/latest/meta-data', 'https://169.254.169.254/']) {
      assert.throws(() => o.checkUrl(url), isRefused, url);
      await assertRefusedWithoutConnecting(() => o.checkResolved(url), url);
      await assertRefusedWithoutConnecting(() => o.fetch(url), url);
    }
  }
});

test('refuses private IPv4 addresses', async (t) => {
  const o = outbound(t);
  for (const url of ['https://10.0.0.1/', 'https://172.16.5.4/token', 'https://192.168.1.1:8443/']) {
    const e = await assertRefusedWithoutConnecting(() => o.fetch(url, { method: 'POST', body: 'x=1' }), url);
    assert.match(e.message, /private address\. Set KEYWAY_ALLOW_PRIVATE_HOSTS=/);
    assert.throws(() => o.checkUrl(url), isRefused, url);
    await assertRefusedWithoutConnecting(() => o.checkResolved(url), url);
  }
});

test('refuses unique-local and IPv4-mapped IPv6 addresses', async (t) => {
  const o = outbound(t);
  for (const url of ['https://[fd00::1]/', 'https://[::ffff:127.0.0.1]/', 'https://[::ffff:a9fe:a9fe]/', 'https://[fe80::1]/']) {
    assert.throws(() => o.checkUrl(url), isRefused, url);
    await assertRefusedWithoutConnecting(() => o.fetch(url), url);
  }
});

test('refuses a host name that resolves to a private address, before connecting', async (t) => {
  const lookup = stubLookup({ 'internal.example.com': ['10.1.2.3'] });
  const o = outbound(t, { lookup });
  assert.equal(o.checkUrl('https://internal.example.com/api').hostname, 'internal.example.com');
  const e = await assertRefusedWithoutConnecting(() => o.checkResolved('https://internal.example.com/api'), 'checkResolved');
  assert.match(e.message, /internal\.example\.com resolves to a private address/);
  await assertRefusedWithoutConnecting(() => o.fetch('https://internal.example.com/api'), 'fetch');
  assert.deepEqual(lookup.calls, ['internal.example.com', 'internal.example.com']);
});

test('refuses plain http outside development mode', async (t) => {
  const o = outbound(t);
  for (const url of ['http://example.com/', 'http://127.0.0.1/']) {
    assert.throws(() => o.checkUrl(url), (e: Error) => isRefused(e) && /plain http is not allowed/.test(e.message), url);
    await assertRefusedWithoutConnecting(() => o.fetch(url), url);
  }
});

test('development mode allows http to loopback but not to private addresses', async (t) => {
  const server = await startServer(t, (_req, res) => res.end('hello'));
  const o = outbound(t, { dev: true });
  const response = await o.fetch(`${server.origin}/ping?x=1`);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'hello');
  assert.equal(server.seen[0]?.url, '/ping?x=1');
  await assertRefusedWithoutConnecting(() => o.fetch('http://10.0.0.1/'), 'http://10.0.0.1/');
  await assertRefusedWithoutConnecting(() => o.fetch('http://192.168.0.10:8080/'), 'http://192.168.0.10:8080/');
});

test('connects to the address it checked, keeping the host name in the Host header', async (t) => {
  const server = await startServer(t, (_req, res) => res.end('pinned'));
  // A rebinding resolver: the first answer is loopback, every later one the metadata address.
  let answers = 0;
  const calls: string[] = [];
  const lookup: LookupFn = async (hostname) => {
    calls.push(hostname);
    return [{ address: answers++ === 0 ? '127.0.0.1' : '169.254.169.254', family: 4 }];
  };
  const o = outbound(t, { dev: true, allowPrivateHosts: ['api.example.test'], lookup });
  const response = await o.fetch(`http://api.example.test:${server.port}/v1/me`);
  assert.equal(await response.text(), 'pinned');
  assert.equal(server.seen[0]?.host, `api.example.test:${server.port}`);
  assert.deepEqual(calls, ['api.example.test'], 'resolved exactly once');
});

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false; // the TLS test is skipped without openssl
  }
})();

test('over TLS, connects to the pinned address and verifies the certificate for the host name', { skip: !hasOpenssl && 'openssl not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'keyway-outbound-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=api.example.test', '-addext', 'subjectAltName=DNS:api.example.test', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const seen: Array<{ host: string | undefined; servername: string | false | null }> = [];
  const server = createTlsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    seen.push({ host: req.headers.host, servername: (req.socket as import('node:tls').TLSSocket).servername });
    res.end('tls ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const policy = { dev: false, allowList: buildAllowList(['api.example.test', 'other.example.test']) };
  const lookup = stubLookup({ 'api.example.test': ['127.0.0.1'], 'other.example.test': ['127.0.0.1'] });
  const dispatcher = createPinnedAgent({ policy, lookup, connect: { ca: readFileSync(cert, 'utf8') } });
  t.after(() => dispatcher.close());
  const tlsFetch = createPolicyFetch({ policy, dispatcher, timeoutMs: 5000 });

  const response = await tlsFetch(`https://api.example.test:${port}/`);
  assert.equal(await response.text(), 'tls ok');
  assert.deepEqual(seen, [{ host: `api.example.test:${port}`, servername: 'api.example.test' }]);
  // Same address, another name: the certificate does not match, so the request fails.
  await assert.rejects(tlsFetch(`https://other.example.test:${port}/`), (e: Error) => /ERR_TLS_CERT_ALTNAME_INVALID/.test(String((e.cause as { code?: string })?.code)));
});

test('does not follow a redirect to the metadata address', async (t) => {
  const server = await startServer(t, redirectTo('http://169.254.169.254/latest/meta-data?secret=abc'));
  const o = outbound(t, { dev: true });
  const before = connectAttempts.length;
  await assert.rejects(o.fetch(`${server.origin}/callback`), (e: Error) => {
    assert.ok(isRefused(e), String(e));
    assert.match(e.message, /^Refused redirect from http:\/\/127\.0\.0\.1:\d+\/callback to http:\/\/169\.254\.169\.254\/latest\/meta-data: /);
    assert.doesNotMatch(e.message, /secret|abc/);
    return true;
  });
  assert.deepEqual(connectAttempts.slice(before), ['127.0.0.1']);
  assert.equal(server.seen.length, 1);
});

test('does not follow a redirect to a name that resolves to a private address', async (t) => {
  const server = await startServer(t, redirectTo('http://internal.example.com/admin'));
  const o = outbound(t, { dev: true, lookup: stubLookup({ 'internal.example.com': ['10.1.2.3'] }) });
  const before = connectAttempts.length;
  await assert.rejects(o.fetch(`${server.origin}/start`), (e: Error) => isRefused(e) && /resolves to a private address/.test(e.message));
  assert.deepEqual(connectAttempts.slice(before), ['127.0.0.1']);
});

test('follows up to five redirects between allowed URLs, re-checking each hop', async (t) => {
  const server = await startServer(t, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const n = Number(url.searchParams.get('n') ?? '0');
    if (url.pathname === '/post') res.writeHead(303, { location: '/landed' }).end();
    else if (url.pathname === '/cross') res.writeHead(307, { location: `http://localhost:${(req.socket.localPort)}/landed` }).end();
    else if (url.pathname === '/chain' && n > 0) res.writeHead(302, { location: `/chain?n=${n - 1}` }).end();
    else res.end(`${req.method} ${url.pathname}`);
  });
  const o = outbound(t, { dev: true, lookup: stubLookup({ localhost: ['127.0.0.1'] }) });
  assert.equal(await (await o.fetch(`${server.origin}/chain?n=5`)).text(), 'GET /chain');
  await assert.rejects(o.fetch(`${server.origin}/chain?n=6`), (e: Error) => isRefused(e) && /redirected more than 5 times/.test(e.message));
  // 303 after POST continues as GET without the body.
  assert.equal(await (await o.fetch(`${server.origin}/post`, { method: 'POST', body: 'a=1' })).text(), 'GET /landed');
  // A cross-origin hop drops the Authorization header.
  server.seen.length = 0;
  await (await o.fetch(`${server.origin}/cross`, { headers: { authorization: 'Bearer t0ken' } })).text();
  assert.deepEqual(server.seen.map((s) => [s.host.split(':')[0], s.authorization]), [['127.0.0.1', 'Bearer t0ken'], ['localhost', undefined]]);
});

test("redirect: 'manual' returns the 3xx response as is, and 'error' rejects", async (t) => {
  const server = await startServer(t, redirectTo('http://169.254.169.254/'));
  const o = outbound(t, { dev: true });
  const response = await o.fetch(`${server.origin}/r`, { redirect: 'manual' });
  assert.equal(response.status, 302);
  assert.equal(response.headers.get('location'), 'http://169.254.169.254/');
  await assert.rejects(o.fetch(`${server.origin}/r`, { redirect: 'error' }), TypeError);
});

test('the operator allow-list admits a named in-house host on a private address', async (t) => {
  const lookup = stubLookup({ 'keycloak.corp': ['10.20.30.40'], 'gitlab.corp': ['10.20.30.41'], 'meta.corp': ['169.254.169.254'] });
  const o = outbound(t, { allowPrivateHosts: ['keycloak.corp', 'meta.corp'], lookup });
  assert.equal((await o.checkResolved('https://keycloak.corp/realms/main')).hostname, 'keycloak.corp');
  const e = await assertRefusedWithoutConnecting(() => o.checkResolved('https://gitlab.corp/'), 'not listed');
  assert.match(e.message, /Set KEYWAY_ALLOW_PRIVATE_HOSTS=gitlab\.corp to allow an in-house server/);
  await assertRefusedWithoutConnecting(() => o.checkResolved('https://meta.corp/'), 'listed but metadata');
  assert.throws(() => o.checkUrl('http://keycloak.corp/'), isRefused, 'listed but http');
});

test('plain http to an unlisted private address in development mode: the refusal names both steps, https and the allow-list', async (t) => {
  const o = outbound(t, { dev: true });
  const e = await assertRefusedWithoutConnecting(() => o.checkResolved('http://10.0.0.5/hook'), 'private, http');
  assert.match(e.message, /Use https, and set KEYWAY_ALLOW_PRIVATE_HOSTS=10\.0\.0\.5 to allow an in-house server/);
  const listed = outbound(t, { dev: true, allowPrivateHosts: ['10.0.0.5'] });
  const after = await assertRefusedWithoutConnecting(() => listed.checkResolved('http://10.0.0.5/hook'), 'listed, still http');
  assert.match(after.message, /plain http.*Use https/, 'following the advice, https is what is left');
});

test('a *.corp.example wildcard admits its subdomains but not the domain itself', async (t) => {
  const lookup = stubLookup({ 'gitlab.corp.example': ['10.0.0.7'], 'a.b.corp.example': ['fd00::7'], 'corp.example': ['10.0.0.8'], 'evilcorp.example': ['10.0.0.9'] });
  const o = outbound(t, { allowPrivateHosts: ['*.corp.example'], lookup });
  await o.checkResolved('https://gitlab.corp.example/');
  await o.checkResolved('https://a.b.corp.example/');
  await assertRefusedWithoutConnecting(() => o.checkResolved('https://corp.example/'), 'corp.example');
  await assertRefusedWithoutConnecting(() => o.checkResolved('https://evilcorp.example/'), 'evilcorp.example');
});

test('error messages never contain the query string or credentials', async (t) => {
  const o = outbound(t, { lookup: stubLookup({ 'internal.example.com': ['10.1.2.3'] }) });
  const attempts: Array<() => unknown> = [
    () => o.checkUrl('https://10.0.0.1/cb?secret=abc'),
    () => o.checkUrl('https://user:abc@example.com/cb'),
    () => o.checkUrl('http://example.com/cb?secret=abc'),
    () => o.checkResolved('https://internal.example.com/cb?secret=abc'),
    () => o.fetch('https://internal.example.com/cb?secret=abc'),
    () => o.fetch('https://10.0.0.1/cb?secret=abc'),
  ];
  for (const attempt of attempts) {
    const e = await assertRefusedWithoutConnecting(attempt, attempt.toString());
    assert.doesNotMatch(e.message, /abc|secret=/, e.message);
  }
});

test('the dispatcher refuses private addresses for direct undici requests', async (t) => {
  const server = await startServer(t, (_req, res) => res.end('direct'));
  const o = outbound(t, { dev: true });
  const ok = await undiciRequest(`${server.origin}/`, { dispatcher: o.dispatcher });
  assert.equal(await ok.body.text(), 'direct');
  await assertRefusedWithoutConnecting(() => undiciRequest('http://10.0.0.1/', { dispatcher: o.dispatcher }), 'undici.request');
  await assertRefusedWithoutConnecting(() => undiciRequest('http://169.254.169.254/', { dispatcher: o.dispatcher }), 'undici.request');
});

test('times out a request that gets no answer', async (t) => {
  const server = await startServer(t, () => undefined);
  const o = outbound(t, { dev: true, timeoutMs: 200 });
  await assert.rejects(o.fetch(`${server.origin}/slow`), { name: 'TimeoutError' });
});

test("works as oauth4webapi's customFetch", async (t) => {
  const server = await startServer(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: server.origin, token_endpoint: `${server.origin}/token` }));
  });
  const o = outbound(t, { dev: true });
  const issuer = new URL(server.origin);
  const options = { [oauth.customFetch]: o.fetch, [oauth.allowInsecureRequests]: true, algorithm: 'oauth2' as const };
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
  assert.equal(as.token_endpoint, `${server.origin}/token`);
  assert.equal(server.seen[0]?.url, '/.well-known/oauth-authorization-server');
});
