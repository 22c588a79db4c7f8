import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { PROXY_PREFIX } from '../../proxy/index.ts';
import type { Principal } from '../../access/index.ts';
import { answerRawError } from '../raw-reply.ts';
import { MCP_CALL_HEADER, cachedGatewayPrincipal, gatewayPrincipal, isMcpToolCall } from '../auth.ts';
import type { OpenApiRegistry } from '../route.ts';
import type { Services } from '../services.ts';
import type { RouteDeps } from './deps.ts';

/** Methods the gateway forwards (not CONNECT or TRACE). */
const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export type RawListener = (req: IncomingMessage, res: ServerResponse) => void;

export function isGatewayUrl(url: string | undefined): boolean {
  return url !== undefined && url.startsWith(PROXY_PREFIX);
}

/**
 * `/v1/proxy/{connection}/{path}` on the raw request and response: the API key checked (and its
 * rate limit), then the proxy service forwards the call, streaming both bodies. The server hands
 * gateway URLs here before Fastify's router (see `createApp`), so the hot path carries no
 * per-request framework work; errors are answered exactly as `sendError` would.
 */
export function gatewayListener(services: Services): RawListener {
  // Calls the API key check refuses never reach the proxy service (which logs and audits the rest):
  // told here at debug level, by status and error code only.
  // (A function either way: `f?.(fail(e))` would skip answering the call when `f` is null.)
  const refused = services.logger.isLevelEnabled('debug')
    ? (sent: { status: number; code: string }): void => services.logger.debug(sent, 'proxy call refused')
    : (_sent: { status: number; code: string }): void => undefined;
  return (req, res) => {
    const fail = (e: unknown): { status: number; code: string } => answerRawError(res, e, services.logger, 'proxy call failed', (req.url ?? '').split('?')[0] ?? '');
    let known: Principal | undefined;
    const counted = !isMcpToolCall(services, req.headers[MCP_CALL_HEADER]);
    try {
      known = cachedGatewayPrincipal(services, req.headers.authorization, counted); // a key checked within the last 500 ms: no wait
    } catch (e) {
      refused(fail(e));
      return;
    }
    if (known !== undefined) {
      services.proxy.handle(req, res, known, fail);
      return;
    }
    gatewayPrincipal(services, req.headers.authorization, counted).then(
      (p) => services.proxy.handle(req, res, p, fail),
      (e: unknown) => refused(fail(e)),
    );
  };
}

/**
 * The same gateway as Fastify routes, for requests that reach the router anyway (`app.inject()`):
 * the reply is taken over (`reply.hijack()`) in the first hook, before any body parsing, so the
 * body still streams.
 */
export function proxyRoutes({ app, services }: RouteDeps, registry: OpenApiRegistry, gateway: RawListener = gatewayListener(services)): void {
  const forward = (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    reply.hijack();
    gateway(req.raw, reply.raw);
    done();
  };
  for (const url of ['/v1/proxy/:connection', '/v1/proxy/:connection/*']) {
    app.route({
      method: METHODS, url, onRequest: forward,
      handler: async () => undefined, // never reached: the reply is hijacked in onRequest
    });
  }
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    registry.operations.push({
      method, url: '/v1/proxy/{connection}/{path}', tag: 'proxy', auth: true, status: 200,
      summary: 'Call the provider\'s API through a connection: forwarded to its API base URL + path with the credential injected; the provider\'s response comes back as it is, with advice in Keyway-Hint',
    });
  }
}
