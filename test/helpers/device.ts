/**
 * A small fake authorization server on 127.0.0.1 for the device flow's odd cases the real one does
 * not produce on demand: `slow_down`, `expired_token`, no `verification_uri_complete`. Each device
 * code answers the token endpoint from a script, one entry per poll; every poll is counted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type DeviceAnswer = 'authorization_pending' | 'slow_down' | 'access_denied' | 'expired_token' | 'tokens';

export interface FakeDeviceServer {
  issuer: string;
  /** The script for the next device authorization (the answers its polls get, in order; the last repeats). */
  nextScript(answers: DeviceAnswer[]): void;
  /** Polls received for a device code so far. */
  polls(deviceCode: string): number;
  /** The device code of the n-th device authorization (0-based). */
  deviceCode(n: number): string;
  close(): Promise<void>;
}

async function form(req: import('node:http').IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export async function startFakeDeviceServer(opts: { interval?: number; expiresIn?: number } = {}): Promise<FakeDeviceServer> {
  let issuer = '';
  let script: DeviceAnswer[] = ['authorization_pending'];
  const scripts = new Map<string, DeviceAnswer[]>();
  const counts = new Map<string, number>();
  const codes: string[] = [];
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/.well-known/oauth-authorization-server') {
      json(res, 200, {
        issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`,
        device_authorization_endpoint: `${issuer}/device_authorization`,
        grant_types_supported: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      });
      return;
    }
    if (req.method === 'POST' && path === '/device_authorization') {
      void form(req).then(() => {
        const n = codes.length;
        const deviceCode = `fake-device-code-${n}-${Math.random().toString(36).slice(2)}`;
        codes.push(deviceCode);
        scripts.set(deviceCode, [...script]);
        // No verification_uri_complete: RFC 8628 §3.2 makes it optional.
        json(res, 200, {
          device_code: deviceCode, user_code: `WXYZ-${String(n).padStart(4, '0')}`, verification_uri: `${issuer}/activate`,
          expires_in: opts.expiresIn ?? 600, ...(opts.interval !== undefined ? { interval: opts.interval } : {}),
        });
      });
      return;
    }
    if (req.method === 'POST' && path === '/token') {
      void form(req).then((p) => {
        const code = p.get('device_code') ?? '';
        const answers = scripts.get(code);
        if (p.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:device_code' || !answers) {
          json(res, 400, { error: 'invalid_grant' });
          return;
        }
        const n = counts.get(code) ?? 0;
        counts.set(code, n + 1);
        const answer = answers[Math.min(n, answers.length - 1)] ?? 'authorization_pending';
        if (answer === 'tokens') {
          json(res, 200, { access_token: `fake-at-${code}`, token_type: 'Bearer', expires_in: 3600, refresh_token: `fake-rt-${code}` });
        } else {
          json(res, 400, { error: answer });
        }
      });
      return;
    }
    json(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    nextScript: (answers) => { script = answers; },
    polls: (code) => counts.get(code) ?? 0,
    deviceCode: (n) => codes[n] ?? '',
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
