import { z } from 'zod';
import { KeywayError } from '../../core/errors.ts';
import { canUseIntegration } from '../../access/index.ts';
import { iso } from '../../core/clock.ts';
import { presentSession } from '../present.ts';
import { actorOf } from '../auth.ts';
import type { RouteDeps } from './deps.ts';

const metadata = z.record(z.string(), z.unknown()).refine((m) => JSON.stringify(m).length <= 4096, 'metadata must be at most 4 KB of JSON');

export function connectSessionRoutes({ def, services }: RouteDeps): void {
  def({
    method: 'POST', url: '/v1/connect-sessions', tag: 'connect', status: 201,
    summary: 'Start connecting: returns a link to open in the person\'s browser',
    body: z.strictObject({
      integration: z.string().min(1).max(100),
      name: z.string().min(1).max(200).optional(),
      externalId: z.string().min(1).max(200).optional(),
      metadata: metadata.optional(),
      params: z.record(z.string(), z.string().max(500)).optional(),
    }),
    handler: async ({ body, principal }) => {
      if (!canUseIntegration(principal, body.integration)) throw new KeywayError('not_found', `No integration ${body.integration}.`);
      const { session, connectUrl } = await services.connect.createSession(principal.orgId, actorOf(principal), principal.memberId, body);
      return { id: session.id, connectUrl, expiresAt: iso(session.expiresAt) };
    },
  });
  def({
    method: 'GET', url: '/v1/connect-sessions/{id}', tag: 'connect', summary: 'How a connect session stands',
    params: z.object({ id: z.string().max(100) }),
    handler: async ({ params, principal }) => presentSession(await services.connect.getSession(principal.orgId, params.id)),
  });
}
