import { z } from 'zod';
import { KeywayError } from '../../core/errors.ts';
import { actorOf, canUseIntegration, requireMayAddConnections } from '../../access/index.ts';
import { OAUTH21_REFUSAL, isRefusedGrant } from '../../connect/index.ts';
import type { ConnectGrant } from '../../store/index.ts';
import { presentSession, presentStartedSession } from '../present.ts';
import { noIntegration } from '../../integrations/index.ts';
import type { RouteDeps } from './deps.ts';

const metadata = z.record(z.string(), z.unknown()).refine((m) => JSON.stringify(m).length <= 4096, 'metadata must be at most 4 KB of JSON');

/** `authorization_code` (default) or `device_code`; implicit and password are refused with the reason. */
const grant = z.string().max(100).optional().transform((g, ctx): ConnectGrant | undefined => {
  if (g === undefined || g === 'authorization_code' || g === 'device_code') return g;
  ctx.addIssue({ code: 'custom', message: isRefusedGrant(g) ? OAUTH21_REFUSAL : 'must be "authorization_code" or "device_code"' });
  return z.NEVER;
});

export function connectSessionRoutes({ def, services }: RouteDeps): void {
  def({
    method: 'POST', url: '/v1/connect-sessions', tag: 'connect', status: 201,
    summary: 'Start connecting: a link to open in the person\'s browser, or (grant device_code) a code to enter at the provider',
    body: z.strictObject({
      integration: z.string().min(1).max(100),
      grant,
      scopes: z.array(z.string().min(1).max(500)).max(200).optional(),
      name: z.string().min(1).max(200).optional(),
      externalId: z.string().min(1).max(200).optional(),
      metadata: metadata.optional(),
      params: z.record(z.string(), z.string().max(500)).optional(),
    }),
    handler: async ({ body, principal }) => {
      requireMayAddConnections(principal);
      if (!canUseIntegration(principal, body.integration)) throw noIntegration(body.integration);
      const { session, connectUrl } = await services.connect.createSession(principal.orgId, actorOf(principal), principal.memberId, body);
      return presentStartedSession(session, connectUrl);
    },
  });
  def({
    method: 'GET', url: '/v1/connect-sessions/{id}', tag: 'connect', summary: 'How a connect session stands: pending, connected, denied, expired or failed',
    params: z.object({ id: z.string().max(100) }),
    handler: async ({ params, principal }) => {
      const s = await services.connect.getSession(principal.orgId, params.id);
      // Another member's session is not disclosed (it names their connection).
      if (s.createdByMemberId !== principal.memberId) throw new KeywayError('not_found', `No connect session ${params.id}.`);
      return presentSession(s);
    },
  });
}
