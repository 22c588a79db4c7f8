import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { KeywayError } from '../core/errors.ts';
import type { Principal } from '../access/index.ts';

type Method = 'GET' | 'POST' | 'DELETE' | 'PATCH' | 'PUT';

export interface HandlerContext<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  principal: Principal;
  req: FastifyRequest;
  reply: FastifyReply;
}

export interface RouteSpec<B, Q, P> {
  method: Method;
  url: string;
  summary: string;
  tag: string;
  /** false: public (health, OpenAPI). Default: requires an API key. */
  auth?: boolean;
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  params?: z.ZodType<P>;
  response?: z.ZodType;
  status?: number;
  handler: (ctx: HandlerContext<B, Q, P>) => Promise<unknown>;
}

/** OpenAPI operations, collected from the same zod schemas that validate requests. */
export interface OpenApiRegistry {
  operations: Array<{ method: Method; url: string; summary: string; tag: string; auth: boolean; body?: z.ZodType; query?: z.ZodType; params?: z.ZodType; response?: z.ZodType; status: number }>;
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return value as T;
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  // An unknown key first: a misspelt field ("integraton") is then named, not only the one it was meant to be.
  const issues = [...r.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  const told = issues.slice(0, 2).map((issue) => {
    const at = issue.path.length > 0 ? `${where} field "${issue.path.join('.')}"` : where;
    return `${at}: ${issue.message}`;
  });
  throw new KeywayError('invalid_request', `${told.join('; ')}.`);
}

export type Authenticate = (req: FastifyRequest) => Promise<Principal>;

/** Registers a route: validated input, authenticated principal, JSON output, and an OpenAPI entry. */
export function defineRoute<B = unknown, Q = unknown, P = unknown>(
  app: FastifyInstance, registry: OpenApiRegistry, authenticate: Authenticate, spec: RouteSpec<B, Q, P>,
): void {
  const auth = spec.auth !== false;
  registry.operations.push({
    method: spec.method, url: spec.url, summary: spec.summary, tag: spec.tag, auth, status: spec.status ?? 200,
    ...(spec.body ? { body: spec.body } : {}), ...(spec.query ? { query: spec.query } : {}),
    ...(spec.params ? { params: spec.params } : {}), ...(spec.response ? { response: spec.response } : {}),
  });
  const fastifyUrl = spec.url.replace(/\{(\w+)\}/g, ':$1');
  app.route({
    method: spec.method, url: fastifyUrl,
    handler: async (req, reply) => {
      const principal = auth ? await authenticate(req) : (undefined as unknown as Principal);
      const ctx: HandlerContext<B, Q, P> = {
        principal, req, reply,
        params: parse(spec.params, req.params, 'path'),
        query: parse(spec.query, req.query, 'query'),
        body: parse(spec.body, req.body, 'body'),
      };
      const out = await spec.handler(ctx);
      if (reply.sent) return reply;
      if (out === undefined) return reply.code(spec.status ?? 204).send();
      return reply.code(spec.status ?? 200).send(out);
    },
  });
}

/** `?limit=&cursor=` for every list. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
};
