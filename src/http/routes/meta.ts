import { z } from 'zod';
import type { OpenApiRegistry } from '../route.ts';
import type { RouteDeps } from './deps.ts';

function toSchema(s: z.ZodType, io: 'input' | 'output'): unknown {
  return z.toJSONSchema(s, { io, unrepresentable: 'any' });
}

/** OpenAPI 3.1 built from the zod schemas every route validates with. */
export function buildOpenApi(registry: OpenApiRegistry, publicUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of registry.operations) {
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', op.params], ['query', op.query]] as const) {
      if (!schema) continue;
      const js = toSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, prop] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: prop });
      }
    }
    paths[op.url] ??= {};
    paths[op.url]![op.method.toLowerCase()] = {
      summary: op.summary, tags: [op.tag],
      ...(op.auth ? { security: [{ apiKey: [] }] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(op.body, 'input') } } } } : {}),
      responses: {
        [String(op.status)]: { description: 'Success' },
        default: { description: 'Error: `{error: {code, message}}` with a `Keyway-Error` header', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Keyway API', version: '0.1.0', description: 'Self-hosted OAuth connection broker.' },
    servers: [{ url: publicUrl }],
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'A Keyway API key (kw_…)' } },
      schemas: {
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } } },
      },
    },
  };
}

export function metaRoutes({ def, services }: RouteDeps, registry: OpenApiRegistry): void {
  def({
    method: 'GET', url: '/healthz', tag: 'meta', summary: 'Liveness and store check', auth: false,
    handler: async () => {
      await services.store.orgs.list();
      return { ok: true };
    },
  });
  def({
    method: 'GET', url: '/openapi.json', tag: 'meta', summary: 'This API description', auth: false,
    handler: async () => buildOpenApi(registry, services.config.publicUrl),
  });
}
