/**
 * Servers the gateway tests talk to: a small provider API on 127.0.0.1 that records every request
 * it receives (so a test can prove that nothing was sent), and a Keyway started as its own process
 * (so a test can measure its memory, or change its database from the CLI while it runs).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, createServer, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { ApiResponse } from './keyway.ts';
import { freePort } from './keyway.ts';

export interface SeenRequest {
  method: string;
  /** The request target exactly as it arrived (path and query, never decoded). */
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => void | Promise<void>;

export interface Upstream {
  url: string;
  seen: SeenRequest[];
  /** Replaces how requests are answered (default: echo method, url and headers as JSON). */
  handle(handler: UpstreamHandler): void;
  close(): Promise<void>;
}

/** Answers with what it received, as JSON: `{method, url, headers}` (the request body is drained). */
export const echo: UpstreamHandler = async (req, res, seen) => {
  for await (const _ of req) { /* drain */ }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ method: seen.method, url: seen.url, headers: seen.headers }));
};

export async function startUpstream(handler: UpstreamHandler = echo): Promise<Upstream> {
  let current = handler;
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const s: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders };
    seen.push(s);
    Promise.resolve(current(req, res, s)).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    seen,
    handle(h) { current = h; },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** The JSON API of a Keyway at `url`, called with `key`. */
export function apiClient(url: string, key: string): (method: string, path: string, body?: unknown, withKey?: string) => Promise<ApiResponse> {
  return async (method, path, body, withKey = key) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${withKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };
}

export interface SpawnedKeyway {
  url: string;
  child: ChildProcess;
  apiKey: string;
  api: ReturnType<typeof apiClient>;
  /** Resident memory of the Keyway process now, in bytes (Linux /proc). */
  rss(): number;
  stop(): Promise<void>;
}

export const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/** `keyway serve --dev` as its own process on a free port, with `dataDir`; resolves once it listens. */
export async function spawnKeyway(dataDir: string, env: Record<string, string> = {}): Promise<SpawnedKeyway> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, '--dev'], {
    env: { ...process.env, KEYWAY_SANDBOX: '0', KEYWAY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Keyway did not start in 20 s:\n${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/listening on/.test(out)) { clearTimeout(timer); resolve(); }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`Keyway exited ${code}:\n${out}`)); });
  });
  child.stdout?.resume();
  child.stderr?.resume();
  const url = `http://127.0.0.1:${port}`;
  const apiKey = readFileSync(join(dataDir, 'bootstrap-admin-key'), 'utf8').trim();
  return {
    url, child, apiKey, api: apiClient(url, apiKey),
    rss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      if (kb === undefined) throw new Error('no VmRSS in /proc status');
      return Number(kb) * 1024;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A request whose path is sent exactly as written (fetch would resolve `..` and turn `\` into `/`
 * before sending, hiding what the gateway must refuse).
 */
export function rawRequest(base: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<RawResponse> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method: opts.method ?? 'GET', path, headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
