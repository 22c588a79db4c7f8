import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { sendError, toErrorResponse } from './error-mapping.ts';
import { type OpenApiRegistry, type RouteSpec, defineRoute } from './route.ts';
import { requestAuthenticator } from './auth.ts';
import type { Services } from './services.ts';
import type { RouteDeps } from './routes/deps.ts';
import { providerRoutes } from './routes/providers.ts';
import { integrationRoutes } from './routes/integrations.ts';
import { connectSessionRoutes } from './routes/connect-sessions.ts';
import { connectionRoutes } from './routes/connections.ts';
import { tokenListener, tokenRoute, tokenUrlId } from './routes/token.ts';
import { auditRoutes } from './routes/audit.ts';
import { metaRoutes } from './routes/meta.ts';
import { apiKeyRoutes } from './routes/api-keys.ts';
import { gatewayListener, isGatewayUrl, proxyRoutes } from './routes/proxy.ts';
import { createServer } from 'node:http';
import { answerClientError } from './client-error.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { mcpRoutes } from './routes/mcp.ts';
import { connectPages } from './pages/connect-pages.ts';
import { connectionSharingRoutes } from './routes/connection-sharing.ts';
import { memberRoutes } from './routes/members.ts';
import { inviteRoutes } from './routes/invites.ts';
import { orgRoutes } from './routes/orgs.ts';
import { meRoutes, signInRoutes } from './routes/sign-in.ts';
import { linkPages } from './routes/link-pages.ts';
import { dashboardRoutes } from './routes/dashboard.ts';

/** Extra request handlers mounted before the routes (the sandbox authorization server). */
export type Mount = (app: FastifyInstance) => void;

/**
 * Builds the HTTP app from its services. Request logs carry method and path only — never a query
 * string (callbacks carry `code` and `state`), a header value or a body.
 */
export function createApp(services: Services, mounts: Mount[] = []): FastifyInstance {
  // The hot paths: /v1/proxy/… and GET /token with an API key go straight to raw listeners, ahead of the router.
  const gateway = gatewayListener(services);
  const token = tokenListener(services);
  const app: FastifyInstance = Fastify({
    loggerInstance: services.logger as unknown as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    clientErrorHandler: answerClientError,
    routerOptions: { maxParamLength: 500 },
    serverFactory: (handler) => {
      const server = createServer((req, res) => {
        if (isGatewayUrl(req.url)) return gateway(req, res);
        const tokenOf = tokenUrlId(req.method, req.url, req.headers.authorization);
        return tokenOf === null ? handler(req, res) : token(req, res, tokenOf);
      });
      // Fastify's defaults for a server it creates itself (keep-alive 72 s, no request timeout).
      server.keepAliveTimeout = 72_000;
      server.requestTimeout = 0;
      server.setTimeout(0);
      return server;
    },
  });
  app.setErrorHandler((err, req, reply) => {
    // A refusal (4xx) is the caller's to mend and is in the request line's status: told at debug,
    // so callers with a wrong key cannot fill the error log. Keyway's own failures (5xx) are errors.
    if (toErrorResponse(err).status >= 500) req.log.error({ err }, 'request failed');
    else req.log.debug({ err }, 'request refused');
    return sendError(reply, err);
  });
  app.setNotFoundHandler((_req, reply) => sendError(reply, { statusCode: 404 }));
  for (const m of mounts) m(app);

  const registry: OpenApiRegistry = { operations: [] };
  const authenticate = requestAuthenticator(services);
  const deps: RouteDeps = {
    app, services,
    def: <B, Q, P>(spec: RouteSpec<B, Q, P>) => defineRoute(app, registry, authenticate, spec),
  };
  providerRoutes(deps);
  integrationRoutes(deps);
  connectSessionRoutes(deps);
  connectionRoutes(deps);
  tokenRoute(deps);
  connectionSharingRoutes(deps);
  orgRoutes(deps);
  memberRoutes(deps);
  inviteRoutes(deps);
  meRoutes(deps);
  auditRoutes(deps);
  apiKeyRoutes(deps);
  webhookRoutes(deps);
  proxyRoutes(deps, registry, gateway);
  mcpRoutes(deps, registry);
  metaRoutes(deps, registry);
  connectPages(services, app);
  dashboardRoutes(services, app);
  // Sign-in pages post plain HTML forms: their own scope reads form bodies, nothing else does.
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))));
    signInRoutes(services, scope);
    linkPages(services, scope);
  });
  return app;
}
