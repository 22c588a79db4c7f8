export { WebhookService, type WebhookDeps, type NewEndpoint } from './service.ts';
export { WEBHOOK_EVENTS, type WebhookEventType, connectionSnapshot, eventForTransition } from './events.ts';
export { SIGNATURE_HEADER, sign, verify } from './signing.ts';
export { RETRY_DELAYS_MS, nextDelay } from './backoff.ts';
