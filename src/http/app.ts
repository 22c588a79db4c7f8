import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { sendError } from './error-mapping.ts';
import { type OpenApiRegistry, type RouteSpec, defineRoute } from './route.ts';
import { apiKeyAuthenticator } from './auth.ts';
import type { Services } from './services.ts';
import type { RouteDeps } from './routes/deps.ts';
import { providerRoutes } from './routes/providers.ts';
import { integrationRoutes } from './routes/integrations.ts';
import { connectSessionRoutes } from './routes/connect-sessions.ts';
import { connectionRoutes } from './routes/connections.ts';
import { auditRoutes } from './routes/audit.ts';
import { metaRoutes } from './routes/meta.ts';
import { connectPages } from './pages/connect-pages.ts';

/** Extra request handlers mounted before the routes (the sandbox authorization server). */
export type Mount = (app: FastifyInstance) => void;

/**
 * Builds the HTTP app from its services. Request logs carry method and path only — never a query
 * string (callbacks carry `code` and `state`), a header value or a body.
 */
export function createApp(services: Services, mounts: Mount[] = []): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: services.logger as unknown as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 500 },
  });
  app.setErrorHandler((err, req, reply) => {
    const status = (err as { statusCode?: number }).statusCode;
    if (!status || status >= 500) req.log.error({ err }, 'request failed');
    return sendError(reply, err);
  });
  app.setNotFoundHandler((_req, reply) => sendError(reply, { statusCode: 404 }));
  for (const m of mounts) m(app);

  const registry: OpenApiRegistry = { operations: [] };
  const authenticate = apiKeyAuthenticator(services.store);
  const deps: RouteDeps = {
    app, services,
    def: <B, Q, P>(spec: RouteSpec<B, Q, P>) => defineRoute(app, registry, authenticate, spec),
  };
  providerRoutes(deps);
  integrationRoutes(deps);
  connectSessionRoutes(deps);
  connectionRoutes(deps);
  auditRoutes(deps);
  metaRoutes(deps, registry);
  connectPages(services, app);
  return app;
}
