/**
 * A small OAuth provider on 127.0.0.1 for multi-process tests: single-use (rotating) refresh tokens
 * that die on first use, short-lived access tokens, a request counter, and a way to hold a refresh
 * mid-call (to kill the Keyway process waiting for it), a hook run before each refresh is answered
 * (to make it slow) and a count of refreshes open at once. Authorization redirects straight back.
 */
import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HeldRefresh {
  /** Rotate now (as the provider would on receiving it) and answer when released. */
  rotateThenHold: boolean;
  arrived: Promise<void>;
  release(): void;
}

export interface RotatingProvider {
  url: string;
  refreshes: number;
  refreshFailures: number;
  /** Every request to the token endpoint, answered or not. */
  tokenRequests: number;
  /** While true the token endpoint answers 503 (an outage). */
  failing: boolean;
  /** Refresh requests received and not yet answered, and the most there ever were at once. */
  openRefreshes: number;
  maxOpenRefreshes: number;
  /**
   * Runs before each refresh is answered (after the token was rotated): a delay in real time, or
   * the test moving its clock on as if the provider took that long.
   */
  beforeAnswer: (() => Promise<void>) | null;
  apiCalls: number;
  apiRejected: number;
  /** True when the access token is one this provider issued and has not expired. */
  isValid(accessToken: string): boolean;
  /** The next refresh request is held until released. */
  holdNextRefresh(opts: { rotateThenHold: boolean }): HeldRefresh;
  /** The next authorization-code exchange is held until released (the code is spent on arrival). */
  holdNextCodeExchange(): { arrived: Promise<void>; release(): void };
  close(): Promise<void>;
}

const tok = (p: string): string => `${p}_${randomBytes(12).toString('hex')}`;

async function body(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(value));
}

export interface RotatingProviderOptions {
  /** Access-token lifetime; null: tokens without `expires_in` that never expire. */
  accessTtlSeconds: number | null;
  /** The provider's clock (a test's ManualClock to run time forward); default real time. */
  now?: () => number;
  /** Refresh tokens unused this long are dropped, as many providers do after 90 days. */
  dropUnusedRefreshAfterMs?: number;
}

export async function startRotatingProvider(opts: RotatingProviderOptions): Promise<RotatingProvider> {
  const now = opts.now ?? Date.now;
  const access = new Map<string, number>(); // token → expiry (ms)
  const liveRefresh = new Map<string, number>(); // token → issued at (ms)
  let held: { rotateThenHold: boolean; arrived: () => void; released: Promise<void> } | null = null;
  let heldCode: { arrived: () => void; released: Promise<void> } | null = null;

  const issue = (): Record<string, unknown> => {
    const at = tok('at');
    const rt = tok('rt');
    access.set(at, opts.accessTtlSeconds === null ? Infinity : now() + opts.accessTtlSeconds * 1000);
    liveRefresh.set(rt, now());
    return { access_token: at, refresh_token: rt, token_type: 'Bearer', ...(opts.accessTtlSeconds === null ? {} : { expires_in: opts.accessTtlSeconds }), scope: 'me' };
  };
  /** Uses a refresh token once: true when it was live (and not dropped for being unused too long). */
  const spend = (rt: string): boolean => {
    const issued = liveRefresh.get(rt);
    if (issued === undefined) return false;
    liveRefresh.delete(rt);
    return opts.dropUnusedRefreshAfterMs === undefined || now() - issued <= opts.dropUnusedRefreshAfterMs;
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/authorize') {
        const back = new URL(url.searchParams.get('redirect_uri') ?? '');
        back.searchParams.set('code', tok('code'));
        back.searchParams.set('state', url.searchParams.get('state') ?? '');
        res.writeHead(302, { location: back.toString() }).end();
        return;
      }
      if (url.pathname === '/token' && req.method === 'POST') {
        const form = await body(req);
        provider.tokenRequests++;
        if (provider.failing) return json(res, 503, { error: 'temporarily_unavailable' });
        const grant = form.get('grant_type');
        if (grant === 'authorization_code') {
          const h = heldCode;
          heldCode = null;
          if (h) {
            h.arrived();
            await h.released;
          }
          return json(res, 200, issue());
        }
        if (grant !== 'refresh_token') return json(res, 400, { error: 'unsupported_grant_type' });
        const rt = form.get('refresh_token') ?? '';
        const h = held;
        if (h) {
          held = null;
          if (h.rotateThenHold && spend(rt)) {
            provider.refreshes++;
            const answer = issue();
            h.arrived();
            await h.released;
            return json(res, 200, answer); // the caller was killed meanwhile: this answer is lost
          }
          h.arrived();
          // Held before the provider acted on it: if the caller goes away, nothing rotated.
          const gone = await Promise.race([h.released.then(() => false), new Promise<boolean>((r) => req.socket.once('close', () => r(true)))]);
          if (gone) return;
        }
        if (!spend(rt)) {
          provider.refreshFailures++;
          return json(res, 400, { error: 'invalid_grant', error_description: 'refresh token already used or unknown' });
        }
        provider.refreshes++;
        const answer = issue();
        provider.openRefreshes++;
        provider.maxOpenRefreshes = Math.max(provider.maxOpenRefreshes, provider.openRefreshes);
        try {
          await provider.beforeAnswer?.();
        } finally {
          provider.openRefreshes--;
        }
        return json(res, 200, answer);
      }
      if (url.pathname.startsWith('/api/')) {
        provider.apiCalls++;
        const at = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        if (!provider.isValid(at)) {
          provider.apiRejected++;
          res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
          return;
        }
        return json(res, 200, { id: 'user-1', path: url.pathname });
      }
      res.writeHead(404).end();
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;

  const provider: RotatingProvider = {
    url: `http://127.0.0.1:${port}`,
    refreshes: 0, refreshFailures: 0, tokenRequests: 0, failing: false, apiCalls: 0, apiRejected: 0,
    openRefreshes: 0, maxOpenRefreshes: 0, beforeAnswer: null,
    isValid: (at) => (access.get(at) ?? 0) > now(),
    holdNextRefresh({ rotateThenHold }) {
      let arrived!: () => void;
      let release!: () => void;
      const arrivedP = new Promise<void>((r) => { arrived = r; });
      const released = new Promise<void>((r) => { release = r; });
      held = { rotateThenHold, arrived, released };
      return { rotateThenHold, arrived: arrivedP, release };
    },
    holdNextCodeExchange() {
      let arrived!: () => void;
      let release!: () => void;
      const arrivedP = new Promise<void>((r) => { arrived = r; });
      heldCode = { arrived, released: new Promise<void>((r) => { release = r; }) };
      return { arrived: arrivedP, release };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return provider;
}
