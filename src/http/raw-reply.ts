import type { ServerResponse } from 'node:http';
import { toErrorResponse } from './error-mapping.ts';

/**
 * Answers on the raw response for the listeners that run ahead of Fastify's router (the gateway,
 * `/token`), byte for byte as the routes answer through Fastify.
 */

/** A Keyway error, as `sendError` writes it — unless the answer has begun, then the connection is cut. */
function writeRawError(res: ServerResponse, r: ReturnType<typeof toErrorResponse>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'keyway-error': r.code };
  if (r.retryAfter !== undefined) headers['retry-after'] = String(r.retryAfter);
  res.writeHead(r.status, headers);
  res.end(JSON.stringify(r.body));
}

/**
 * Any failure of a raw listener answered as `writeRawError` does; server faults are logged (never a
 * provider's). Returns the status and error code sent.
 */
export function answerRawError(res: ServerResponse, e: unknown, logger: { error(obj: object, msg: string): void }, what: string, path: string): { status: number; code: string } {
  const r = toErrorResponse(e);
  if (r.status >= 500 && r.code !== 'provider_unavailable') logger.error({ err: e, path }, what);
  writeRawError(res, r);
  return { status: r.status, code: r.code };
}
