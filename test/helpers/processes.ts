/** Keyway as separate OS processes (`keyway serve`), for multi-process and crash tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './keyway.ts';
import { CookieJar } from './browserless.ts';

const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

export interface KeywayProcess {
  url: string;
  dataDir: string;
  child: ChildProcess;
  output(): string;
  /** The bootstrap admin key, on the process that created the organization. */
  bootstrapKey(): string;
  /** Signals the process and waits for it to exit; its data directory is removed unless `keepData`. */
  kill(signal?: NodeJS.Signals, opts?: { keepData?: boolean }): Promise<void>;
}

export async function spawnKeyway(env: Record<string, string>): Promise<KeywayProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyway-proc-'));
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir], {
    env: { ...process.env, KEYWAY_DEV: '1', KEYWAY_SANDBOX: '0', KEYWAY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keyway did not start in 20 s:\n${out}`)), 20_000);
    const check = (): void => {
      if (/listening on/.test(out)) { clearTimeout(timer); resolve(); }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`keyway exited ${code}:\n${out}`)); });
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url: `http://127.0.0.1:${port}`, dataDir, child,
    output: () => out,
    bootstrapKey: () => readFileSync(join(dataDir, 'bootstrap-admin-key'), 'utf8').trim(),
    async kill(signal = 'SIGTERM', opts = {}) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function call(base: string, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON: keep the text */ }
  return { status: res.status, headers: res.headers, body: parsed };
}

/**
 * Connects through a Keyway process as a browser would, to a provider that approves at once (the
 * rotating provider): the connect session, its redirects, then the connection's id.
 */
export async function connectVia(base: string, key: string, integration: string): Promise<string> {
  const s = await call(base, key, 'POST', '/v1/connect-sessions', { integration });
  if (s.status !== 201) throw new Error(`connect session refused: ${JSON.stringify(s.body)}`);
  const jar = new CookieJar();
  let res = await jar.fetch(s.body.connectUrl);
  for (let i = 0; i < 5 && res.status === 302; i++) res = await jar.fetch(res.headers.get('location') ?? '');
  if (res.status !== 200) throw new Error(`connect ended with ${res.status}: ${await res.text()}`);
  const done = await call(base, key, 'GET', `/v1/connect-sessions/${s.body.id}`);
  if (done.body.status !== 'connected') throw new Error(`not connected: ${JSON.stringify(done.body)}`);
  return done.body.connection;
}
