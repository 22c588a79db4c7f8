/**
 * The sandbox: oidc-provider plus the login/consent pages and the protected API, behind one
 * request handler that works at any path prefix (the issuer's path).
 *
 * Mounting: the handler strips the prefix from `req.url` and tells oidc-provider where it is
 * mounted through `req.baseUrl` (read by its `OIDCContext.urlFor`), so discovery, endpoint and
 * interaction URLs all carry the prefix. Interaction and API routes keep the full URL.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

import { createApiHandler } from './api.ts';
import { createInteractionHandler } from './interactions.ts';
import { clientMetadata, createProvider, type SandboxClient } from './provider.ts';
import { SandboxStore } from './store.ts';

export interface SandboxOptions {
  /** full issuer URL including the path prefix, e.g. http://127.0.0.1:3030/sandbox */
  issuer: string;
  clients?: SandboxClient[];
  /** default 300 (5 minutes) */
  accessTokenTtlSeconds?: number;
  /** default 14 days */
  refreshTokenTtlSeconds?: number;
  /** default true: each refresh returns a new refresh token and the old one is single-use */
  rotateRefreshTokens?: boolean;
}

export interface SandboxStats {
  /** token endpoint requests by grant_type, successful or not */
  tokenRequests: Record<string, number>;
  apiRequests: number;
}

export interface Sandbox {
  readonly issuer: string;
  readonly stats: SandboxStats;
  /** Handles a request whose path starts with the issuer's path; raw Node req/res, body unread. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Registers or replaces a client at run time. */
  registerClient(client: SandboxClient): Promise<void>;
  /** Revokes every grant of an account, with its tokens (its refresh tokens then get invalid_grant). */
  revokeAccountGrants(accountId: string): Promise<void>;
  readonly provider: Provider;
}

function countTokenRequest(stats: SandboxStats, ctx: KoaContextWithOIDC): void {
  const grantType = ctx.oidc?.params?.grant_type;
  const key = typeof grantType === 'string' && grantType ? grantType : 'unknown';
  stats.tokenRequests[key] = (stats.tokenRequests[key] ?? 0) + 1;
}

function fail(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(message);
}

export async function createSandbox(options: SandboxOptions): Promise<Sandbox> {
  const issuerUrl = new URL(options.issuer);
  const prefix = issuerUrl.pathname.replace(/\/+$/, '');
  const store = new SandboxStore();
  const provider = createProvider({
    issuer: options.issuer,
    prefix,
    store,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 300,
    refreshTokenTtlSeconds: options.refreshTokenTtlSeconds ?? 14 * 24 * 3600,
    rotateRefreshTokens: options.rotateRefreshTokens ?? true,
  });
  const stats: SandboxStats = { tokenRequests: {}, apiRequests: 0 };
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => countTokenRequest(stats, ctx));
  provider.on('grant.error', (ctx: KoaContextWithOIDC) => countTokenRequest(stats, ctx));

  const oidc = provider.callback();
  const interactions = createInteractionHandler(provider, prefix);
  const api = createApiHandler(provider, stats);

  async function registerClient(client: SandboxClient): Promise<void> {
    const adapter = store.adapterFor('Client');
    const previous = await adapter.find(client.clientId);
    await adapter.upsert(client.clientId, clientMetadata(client));
    try {
      // Client.find builds the client from the stored metadata, validating it.
      if (!(await provider.Client.find(client.clientId))) throw new Error('client not stored');
    } catch (err) {
      if (previous) await adapter.upsert(client.clientId, previous);
      else await adapter.destroy(client.clientId);
      throw err;
    }
  }

  for (const client of options.clients ?? []) await registerClient(client);

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0] ?? '/';
    if (prefix && path !== prefix && !path.startsWith(`${prefix}/`)) {
      fail(res, 404, 'not a sandbox URL');
      return;
    }
    let rest = url.slice(prefix.length);
    if (!rest.startsWith('/')) rest = `/${rest}`;
    const restPath = path.slice(prefix.length);

    let done: Promise<void> | void;
    if (restPath.startsWith('/interaction/')) {
      done = interactions(req, res, rest);
    } else if (restPath.startsWith('/api/')) {
      done = api(req, res, rest);
    } else {
      // oidc-provider routes on the un-prefixed path and builds its URLs with req.baseUrl.
      const mounted = req as IncomingMessage & { baseUrl?: string; originalUrl?: string };
      mounted.baseUrl = prefix;
      delete mounted.originalUrl;
      req.url = rest;
      done = oidc(req, res);
    }
    Promise.resolve(done).catch((err: unknown) => {
      console.error('keyway sandbox: request failed:', err);
      fail(res, 500, 'sandbox error');
    });
  }

  return {
    issuer: provider.issuer,
    stats,
    handle,
    registerClient,
    async revokeAccountGrants(accountId) {
      for (const grantId of store.grantIdsOf(accountId)) store.revokeGrant(grantId);
    },
    provider,
  };
}
