import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ManualClock } from '../../src/core/clock.ts';
import { loadConfig } from '../../src/core/config.ts';
import { type Keyway, type StartOptions, startKeyway } from '../../src/http/server.ts';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/index.ts';
import { CookieJar, authorizeWithForms } from './browserless.ts';

/** Every log line Keyway wrote, so tests can search it for secrets. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.lines.push(chunk.toString('utf8'));
    cb();
  }
  text(): string {
    return this.lines.join('');
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON as the API returns it
}

export interface TestKeyway {
  kw: Keyway;
  clock: ManualClock;
  logs: LogCapture;
  apiKey: string;
  dataDir: string;
  api(method: string, path: string, body?: unknown, key?: string): Promise<ApiResponse>;
  close(): Promise<void>;
}

/** Keyway on 127.0.0.1 with a temp data dir, development mode, an injected clock and captured logs. */
export async function startTestKeyway(opts: Partial<Omit<StartOptions, 'config'>> & { env?: Record<string, string>; sandbox?: boolean } = {}): Promise<TestKeyway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyway-test-'));
  const port = await freePort();
  // The background scheduler is driven by the tests (services.scheduler.runOnce) with the injected clock.
  const env = { KEYWAY_DEV: '1', KEYWAY_LOG_LEVEL: 'debug', KEYWAY_SANDBOX: opts.sandbox ? '1' : '0', KEYWAY_BACKGROUND_REFRESH: '0', ...opts.env };
  const config = loadConfig(env, { port: String(port), host: '127.0.0.1', dataDir });
  const clock = opts.clock instanceof ManualClock ? opts.clock : new ManualClock(Date.now());
  const logs = new LogCapture();
  const kw = await startKeyway({ ...opts, config, env, clock, logDestination: logs });
  const apiKey = readFileSync(kw.bootstrapKeyFile ?? join(dataDir, 'bootstrap-admin-key'), 'utf8').trim();
  const api = async (method: string, path: string, body?: unknown, key = apiKey): Promise<ApiResponse> => {
    const res = await fetch(`${kw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };
  return {
    kw, clock, logs, apiKey, dataDir, api,
    async close() {
      await kw.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The standalone sandbox as "the provider", with a client for a Keyway integration registered later. */
export async function startProvider(opts: { accessTokenTtlSeconds?: number; rotateRefreshTokens?: boolean } = {}): Promise<SandboxServer> {
  return startSandboxServer({ path: '/oidc', ...opts });
}

export const CLIENT_SECRET = 'test-client-secret-5f2a9c';

/** Creates a custom integration discovered from the provider's issuer, and registers its client there. */
export async function addIntegration(t: TestKeyway, provider: SandboxServer, extra: Record<string, unknown> = {}): Promise<{ id: string; redirectUri: string; clientId: string }> {
  const clientId = `client-${Math.random().toString(36).slice(2)}`;
  const res = await t.api('POST', '/v1/integrations', {
    provider: 'custom', clientId, clientSecret: CLIENT_SECRET, issuer: provider.issuer,
    scopes: ['openid', 'profile', 'items:read'], ...extra,
  });
  if (res.status !== 201) throw new Error(`integration create failed: ${JSON.stringify(res.body)}`);
  await provider.sandbox.registerClient({ clientId, clientSecret: CLIENT_SECRET, redirectUris: [res.body.redirectUri] });
  return { id: res.body.id, redirectUri: res.body.redirectUri, clientId };
}

export interface BrowserRun {
  jar: CookieJar;
  callbackUrl: URL;
  /** The page Keyway showed at the callback. */
  page: { status: number; text: string };
}

/** Opens a connect link as a person would: sign in and consent at the provider, land on Keyway's callback page. */
export async function connectInBrowser(t: TestKeyway, provider: SandboxServer, integration: string, opts: { username?: string; decision?: 'allow' | 'deny'; session?: Record<string, unknown>; jar?: CookieJar } = {}): Promise<BrowserRun & { sessionId: string; connectUrl: string }> {
  const created = await t.api('POST', '/v1/connect-sessions', { integration, ...opts.session });
  if (created.status !== 201) throw new Error(`connect session failed: ${JSON.stringify(created.body)}`);
  const jar = opts.jar ?? new CookieJar();
  const run = await startAndAuthorize(created.body.connectUrl, provider, jar, opts);
  const res = await jar.fetch(run.callbackUrl);
  return { jar, callbackUrl: run.callbackUrl, page: { status: res.status, text: await res.text() }, sessionId: created.body.id, connectUrl: created.body.connectUrl };
}

/** Opens the connect link and drives the provider's pages; stops at Keyway's callback URL without requesting it. */
export async function startAndAuthorize(connectUrl: string, provider: SandboxServer, jar: CookieJar, opts: { username?: string; decision?: 'allow' | 'deny' } = {}): Promise<{ callbackUrl: URL }> {
  const first = await jar.fetch(connectUrl);
  const location = first.headers.get('location');
  if (first.status !== 302 || !location) throw new Error(`connect link answered ${first.status}: ${await first.text()}`);
  return authorizeWithForms(location, { username: opts.username ?? 'alice', decision: opts.decision ?? 'allow', jar, issuer: provider.issuer });
}
