import type { FastifyReply } from 'fastify';
import { type ErrorCode, KeywayError } from '../core/errors.ts';

/** The one place Keyway error codes become HTTP statuses. */
export const STATUS_OF: Record<ErrorCode, number> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  outbound_url_refused: 400,
  discovery_failed: 400,
  provider_error: 502,
  provider_unavailable: 503,
  needs_reauth: 409,
  connect_failed: 400,
  vault_error: 500,
  refresh_in_progress: 503,
  catalog_invalid: 500,
  store_unavailable: 503,
  internal: 500,
};

/** Turns anything thrown by a handler into `{error: {code, message}}` + `Keyway-Error`. */
export function toErrorResponse(e: unknown): { status: number; code: ErrorCode; body: { error: Record<string, unknown> }; retryAfter?: number } {
  const err = e instanceof KeywayError ? e : fastifyToKeyway(e);
  const status = STATUS_OF[err.code];
  const internal = status >= 500 && err.code !== 'provider_unavailable' && err.code !== 'refresh_in_progress' && err.code !== 'store_unavailable';
  const message = internal && err.code === 'internal' ? 'An unexpected error occurred; the server log has the details.' : err.message;
  const body = { error: { code: err.code, message, ...(err.details ?? {}) } };
  return { status, code: err.code, body, ...(err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {}) };
}

function fastifyToKeyway(e: unknown): KeywayError {
  const fe = e as { statusCode?: number; code?: string; message?: string };
  if (fe && typeof fe.statusCode === 'number' && fe.statusCode < 500) {
    if (fe.statusCode === 404) return new KeywayError('not_found', 'No such route. See /openapi.json for the API.');
    if (fe.statusCode === 413) return new KeywayError('invalid_request', 'The request body is too large.');
    if (fe.statusCode === 415) return new KeywayError('invalid_request', 'Send the body as application/json.');
    return new KeywayError('invalid_request', `The request could not be read: ${fe.message ?? 'bad request'}. Send valid JSON with Content-Type: application/json.`);
  }
  return new KeywayError('internal', 'unexpected', { cause: e });
}

export function sendError(reply: FastifyReply, e: unknown): FastifyReply {
  const r = toErrorResponse(e);
  reply.header('Keyway-Error', r.code);
  if (r.retryAfter !== undefined) reply.header('Retry-After', String(r.retryAfter));
  return reply.code(r.status).type('application/json').send(r.body);
}
