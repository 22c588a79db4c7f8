import type { ConnectionRecord, ConnectionStatus } from '../store/index.ts';

/** The status-change events an organization can subscribe to (DESIGN.md: webhooks mirror the transitions). */
export const WEBHOOK_EVENTS = [
  'connection.created', 'connection.reauthorized', 'connection.refresh_failing',
  'connection.recovered', 'connection.needs_reauth', 'connection.deleted',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** What an event says about a connection: ids, status and reason — never a token or a secret. */
export function connectionSnapshot(c: ConnectionRecord) {
  return {
    id: c.id, integration: c.integrationId, externalId: c.externalId, status: c.status, statusReason: c.statusReason,
  };
}

/** The event a status transition means, if any. */
export function eventForTransition(from: ConnectionStatus, to: ConnectionStatus): WebhookEventType | null {
  if (from === to) return null;
  if (to === 'refresh_failing') return 'connection.refresh_failing';
  if (to === 'needs_reauth') return 'connection.needs_reauth';
  return 'connection.recovered';
}
