import type { FastifyInstance } from 'fastify';
import { Agent } from 'undici';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { KeywayError } from '../../core/errors.ts';
import { type McpDeps, createMcpServer, selfGateway } from '../../mcp/index.ts';
import type { OpenApiRegistry } from '../route.ts';
import { MCP_CALL_HEADER, keyPrincipal } from '../auth.ts';
import { actorOf } from '../../access/index.ts';
import type { RouteDeps } from './deps.ts';

/**
 * This server's own address, for the MCP tools' calls to its gateway: the listening socket, with
 * an "any address" bind reached on loopback.
 */
function listeningOrigin(app: FastifyInstance): string {
  const a = app.server.address();
  if (a === null || typeof a === 'string') {
    throw new KeywayError('internal', 'The server is not listening on a TCP port, so its gateway cannot be called.');
  }
  const host = a.address === '0.0.0.0' ? '127.0.0.1' : a.address === '::' ? '::1' : a.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${a.port}`;
}

/** JSON-RPC's answer to a GET or DELETE: this endpoint is stateless, so it has no stream to open and no session to end. */
const NO_SESSIONS = { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this MCP endpoint is stateless; send JSON-RPC requests with POST.' }, id: null };

/**
 * `/mcp`: the Model Context Protocol over Streamable HTTP, stateless — each POST gets its own MCP
 * server and transport, built for the caller's API key (checked by the same gate as the REST API:
 * a revoked key is refused, the rate limit applies). Fastify parses the JSON body; the reply is
 * then handed to the SDK's transport (`reply.hijack()`).
 * @see https://modelcontextprotocol.io/specification/2025-06-18/basic/transports#streamable-http
 */
export function mcpRoutes({ app, services }: RouteDeps, registry: OpenApiRegistry): void {
  const dispatcher = new Agent({ keepAliveTimeout: 10_000 });
  app.addHook('onClose', async () => {
    await dispatcher.close();
  });
  const deps: McpDeps = {
    store: services.store, tokens: services.tokens, integrations: services.integrations, connect: services.connect, audit: services.audit,
    // The /mcp request was counted against the key's rate limit; its tool's call through the gateway is not counted again.
    gateway: selfGateway({ origin: () => listeningOrigin(app), dispatcher, headers: { [MCP_CALL_HEADER]: services.mcpCallToken } }),
    onError: (e, tool) => services.logger.error({ err: e, tool }, 'MCP tool call failed'),
  };

  app.route({
    method: 'POST', url: '/mcp',
    handler: async (req, reply) => {
      // An API key only (not a signed-in session): the tools call the gateway with it.
      const principal = await keyPrincipal(services, req.headers.authorization);
      const authorization = req.headers.authorization ?? '';
      // A JSON-RPC batch (protocol 2025-03-26) is many requests in one: each message after the first
      // counts against the key's rate limit too, or one POST could carry thousands of tool calls.
      const batch = Array.isArray(req.body) ? req.body.length : 1;
      for (let i = 1; i < batch; i++) await services.keys.authenticate(authorization);
      reply.hijack();
      const server = createMcpServer(deps, { principal, actor: actorOf(principal), authorization });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      reply.raw.on('close', () => {
        void transport.close();
        void server.close();
      });
      try {
        await server.connect(transport);
        await transport.handleRequest(req.raw, reply.raw, req.body);
      } catch (e) {
        req.log.error({ err: e }, 'MCP request failed');
        if (!reply.raw.headersSent) {
          reply.raw.writeHead(500, { 'content-type': 'application/json' });
          reply.raw.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }));
        }
      }
    },
  });
  app.route({
    method: ['GET', 'DELETE'], url: '/mcp',
    handler: async (_req, reply) => reply.code(405).header('allow', 'POST').send(NO_SESSIONS),
  });
  registry.operations.push({
    method: 'POST', url: '/mcp', tag: 'mcp', auth: true, status: 200,
    summary: 'Model Context Protocol (Streamable HTTP, stateless) for AI assistants: tools list_connections, call_api, connection_status, connect',
  });
}
