import type { FastifyInstance } from 'fastify';
import type { RouteSpec } from '../route.ts';
import type { Services } from '../services.ts';

export interface RouteDeps {
  app: FastifyInstance;
  services: Services;
  def: <B = unknown, Q = unknown, P = unknown>(spec: RouteSpec<B, Q, P>) => void;
}
