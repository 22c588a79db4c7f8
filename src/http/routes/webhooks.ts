import { z } from 'zod';
import { iso } from '../../core/clock.ts';
import { requireOrgAdmin } from '../../access/index.ts';
import { WEBHOOK_EVENTS } from '../../webhooks/index.ts';
import type { WebhookDeliveryRecord, WebhookEndpointRecord } from '../../store/index.ts';
import { pageQuery } from '../route.ts';
import type { RouteDeps } from './deps.ts';

const idParam = z.object({ id: z.string().max(100) });

export function presentEndpoint(e: WebhookEndpointRecord) {
  return { id: e.id, url: e.url, events: e.events.length === 0 ? [...WEBHOOK_EVENTS] : e.events, description: e.description, createdAt: iso(e.createdAt) };
}

export function presentDelivery(d: WebhookDeliveryRecord) {
  return {
    id: d.id, event: d.eventId, type: d.eventType, status: d.status, attempts: d.attempts,
    nextAttemptAt: d.nextAttemptAt === null ? null : iso(d.nextAttemptAt), lastStatusCode: d.lastStatusCode,
    lastError: d.lastError, createdAt: iso(d.createdAt), deliveredAt: d.deliveredAt === null ? null : iso(d.deliveredAt),
    payload: JSON.parse(d.payload) as unknown,
  };
}

/** Webhook endpoints (admins): register, list, remove; the delivery log and resend. */
export function webhookRoutes({ def, services }: RouteDeps): void {
  def({
    method: 'POST', url: '/v1/webhooks', tag: 'webhooks', status: 201,
    summary: 'Register a webhook endpoint; the signing secret is shown once',
    body: z.strictObject({
      url: z.string().min(1).max(2000),
      events: z.array(z.enum(WEBHOOK_EVENTS)).max(WEBHOOK_EVENTS.length).optional(),
      description: z.string().max(200).optional(),
    }),
    handler: async ({ body, principal }) => {
      requireOrgAdmin(principal, 'manage webhooks (they carry every integration\'s events)');
      const { endpoint, secret } = await services.webhooks.register(principal.orgId, body);
      return { ...presentEndpoint(endpoint), secret, secretNote: 'Shown once: store it now. Verify each delivery with it (docs/webhooks.md).' };
    },
  });
  def({
    method: 'GET', url: '/v1/webhooks', tag: 'webhooks', summary: 'Webhook endpoints',
    handler: async ({ principal }) => {
      requireOrgAdmin(principal, 'manage webhooks (they carry every integration\'s events)');
      return { data: (await services.webhooks.list(principal.orgId)).map(presentEndpoint), nextCursor: null };
    },
  });
  def({
    method: 'DELETE', url: '/v1/webhooks/{id}', tag: 'webhooks', summary: 'Remove a webhook endpoint', params: idParam,
    handler: async ({ params, principal }) => {
      requireOrgAdmin(principal, 'manage webhooks (they carry every integration\'s events)');
      await services.webhooks.remove(principal.orgId, params.id);
      return undefined;
    },
  });
  def({
    method: 'GET', url: '/v1/webhooks/{id}/deliveries', tag: 'webhooks', summary: 'The delivery log of an endpoint, newest first',
    params: idParam, query: z.strictObject({ ...pageQuery }),
    handler: async ({ params, query, principal }) => {
      requireOrgAdmin(principal, 'manage webhooks (they carry every integration\'s events)');
      const page = await services.webhooks.deliveries(principal.orgId, params.id, { limit: query.limit, cursor: query.cursor });
      return { data: page.data.map(presentDelivery), nextCursor: page.nextCursor };
    },
  });
  def({
    method: 'POST', url: '/v1/webhooks/{id}/deliveries/{delivery}/resend', tag: 'webhooks', status: 202,
    summary: 'Send a delivery again now', params: z.object({ id: z.string().max(100), delivery: z.string().max(100) }),
    handler: async ({ params, principal }) => {
      requireOrgAdmin(principal, 'manage webhooks (they carry every integration\'s events)');
      return presentDelivery(await services.webhooks.resend(principal.orgId, params.id, params.delivery));
    },
  });
}
