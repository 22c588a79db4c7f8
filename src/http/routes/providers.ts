import { z } from 'zod';
import { KeywayError } from '../../core/errors.ts';
import { presentProvider } from '../present.ts';
import type { RouteDeps } from './deps.ts';

export function providerRoutes({ def, services }: RouteDeps): void {
  def({
    method: 'GET', url: '/v1/providers', tag: 'providers', summary: 'List the provider catalog',
    query: z.strictObject({ search: z.string().max(100).optional(), category: z.string().max(100).optional() }),
    handler: async ({ query }) => ({ data: services.catalog.list(query).map(presentProvider), nextCursor: null }),
  });
  def({
    method: 'GET', url: '/v1/providers/{id}', tag: 'providers', summary: 'One provider definition',
    params: z.object({ id: z.string() }),
    handler: async ({ params }) => {
      const d = services.catalog.get(params.id);
      if (!d) throw new KeywayError('not_found', `No provider "${params.id}". GET /v1/providers lists them.`);
      return presentProvider(d);
    },
  });
}
