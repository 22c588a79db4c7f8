/**
 * The sandbox's protected API under `{prefix}/api/`, accepting the provider's opaque access tokens
 * (authorization code / refresh / device flow tokens and client credentials tokens).
 *
 *   GET  /api/me            -> {sub, name, email}
 *   GET  /api/items         -> {data: [...]}            scope items:read
 *   POST /api/items {name}  -> 201 {id, name}           scope items:write
 *   GET  /api/large?bytes=N -> N bytes, streamed (capped at 200 MB)
 *   POST /api/echo          -> the request body, streamed back
 *
 * @see RFC 6750 §3 (WWW-Authenticate errors) https://www.rfc-editor.org/rfc/rfc6750#section-3.1
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type Provider from 'oidc-provider';

import { BodyTooLarge, readText, sendJson } from './http.ts';
import { accountClaims } from './provider.ts';

export const LARGE_BODY_CAP = 200 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

interface Caller {
  /** account id, or `client:{clientId}` for client credentials tokens */
  owner: string;
  clientId: string;
  accountId: string | undefined;
  scopes: Set<string>;
}

interface Item {
  id: string;
  name: string;
  createdAt: string;
}

export interface ApiCounters {
  apiRequests: number;
}

export type ApiHandler = (req: IncomingMessage, res: ServerResponse, route: string) => Promise<void>;

function unauthorized(res: ServerResponse, description: string): void {
  const header = `Bearer error="invalid_token", error_description="${description}"`;
  sendJson(res, 401, { error: 'invalid_token', error_description: description }, { 'www-authenticate': header });
}

function forbidden(res: ServerResponse, scope: string): void {
  const header = `Bearer error="insufficient_scope", scope="${scope}"`;
  sendJson(res, 403, { error: 'insufficient_scope', scope }, { 'www-authenticate': header });
}

export function createApiHandler(provider: Provider, counters: ApiCounters): ApiHandler {
  const items = new Map<string, Item[]>();
  let nextId = 1;

  async function authenticate(req: IncomingMessage): Promise<Caller | undefined> {
    const match = /^Bearer +([\x21-\x7e]+)$/i.exec(req.headers.authorization ?? '');
    const value = match?.[1];
    if (!value) return undefined;
    const token = (await provider.AccessToken.find(value)) ?? (await provider.ClientCredentials.find(value));
    if (!token || token.isExpired) return undefined;
    const accountId = 'accountId' in token ? token.accountId : undefined;
    return {
      owner: accountId ?? `client:${token.clientId}`,
      clientId: token.clientId ?? '',
      accountId,
      scopes: new Set((token.scope ?? '').split(' ').filter(Boolean)),
    };
  }

  async function route(req: IncomingMessage, res: ServerResponse, caller: Caller, url: URL): Promise<void> {
    const path = url.pathname;
    if (path === '/api/me' && req.method === 'GET') {
      const me = caller.accountId ? accountClaims(caller.accountId) : { sub: caller.owner, name: caller.clientId };
      sendJson(res, 200, me);
    } else if (path === '/api/items' && req.method === 'GET') {
      if (!caller.scopes.has('items:read')) return forbidden(res, 'items:read');
      sendJson(res, 200, { data: items.get(caller.owner) ?? [] });
    } else if (path === '/api/items' && req.method === 'POST') {
      if (!caller.scopes.has('items:write')) return forbidden(res, 'items:write');
      const name = parseItemName(await readText(req));
      if (name === undefined) {
        return sendJson(res, 400, { error: 'invalid_request', error_description: 'body must be JSON {"name": "<1-200 characters>"}' });
      }
      const item: Item = { id: `item_${nextId++}`, name, createdAt: new Date().toISOString() };
      items.set(caller.owner, [...(items.get(caller.owner) ?? []), item]);
      sendJson(res, 201, item);
    } else if (path === '/api/large' && req.method === 'GET') {
      await sendLarge(res, Number(url.searchParams.get('bytes') ?? '0'));
    } else if (path === '/api/echo' && req.method === 'POST') {
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
      await pipeline(req, res);
    } else {
      sendJson(res, 404, { error: 'not_found', error_description: `no route ${req.method} ${path}` });
    }
  }

  return async function handleApi(req, res, routePath) {
    counters.apiRequests += 1;
    const url = new URL(routePath, 'http://sandbox.invalid');
    const caller = await authenticate(req);
    if (!caller) {
      const description = req.headers.authorization ? 'access token invalid or expired' : 'access token missing';
      req.resume();
      return unauthorized(res, description);
    }
    try {
      await route(req, res, caller, url);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      sendJson(res, 413, { error: 'invalid_request', error_description: err.message });
    }
  };
}

function parseItemName(text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined; // not JSON: reported as 400 by the caller
  }
  const name = typeof body === 'object' && body !== null ? (body as { name?: unknown }).name : undefined;
  return typeof name === 'string' && name.length >= 1 && name.length <= 200 ? name : undefined;
}

/** Streams `bytes` bytes of 'a', respecting backpressure. */
async function sendLarge(res: ServerResponse, requested: number): Promise<void> {
  const total = Number.isFinite(requested) ? Math.min(Math.max(0, Math.floor(requested)), LARGE_BODY_CAP) : 0;
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let sent = 0; sent < total; sent += CHUNK.length) {
      yield total - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, total - sent);
    }
  }
  await pipeline(chunks(), res);
}
