import type { Dispatcher } from 'undici';
import { KeywayError } from '../core/errors.ts';

/** One call through Keyway's own gateway: `/v1/proxy/{connection}{target}`. */
export interface GatewayRequest {
  /** The caller's `Authorization` header (their Keyway API key): the gateway checks it again. */
  authorization: string;
  connection: string;
  method: string;
  /** Path and query as sent to the gateway, starting with '/' (or ''). */
  target: string;
  headers: Record<string, string>;
  body: Buffer | null;
  /** How many body bytes to keep. */
  keep: number;
}

/** The gateway's answer with the start of its body; bytes past `readCap` are not read at all. */
export interface GatewayResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The first `keep` bytes of the body. */
  kept: Buffer;
  /** Bytes read (all of them when `complete`). */
  read: number;
  /** The whole body was read. */
  complete: boolean;
}

export interface GatewayClient {
  call(req: GatewayRequest): Promise<GatewayResponse>;
}

export interface SelfGatewayOptions {
  /** This server's own listening origin (`http://127.0.0.1:8080`), known once it listens. */
  origin: () => string;
  /** A dispatcher for loopback calls to this server (not the outbound policy's: nothing leaves the host). */
  dispatcher: Dispatcher;
  /** Headers added to every call (the MCP call header that keeps it from being counted twice). */
  headers?: Record<string, string>;
  /**
   * Bytes read and counted before the rest is dropped, so the size of a moderately large body
   * can be told exactly; a larger one is cut off there (the gateway records the call as aborted).
   * Default 1 MB.
   */
  readCap?: number;
}

/** A bit over the gateway's own provider timeouts (120 s), so the gateway answers first. */
const TIMEOUT_MS = 130_000;

/**
 * The MCP tools' way to the provider: an HTTP request from Keyway to its own `/v1/proxy/…` with
 * the caller's API key, so every rule of the gateway holds exactly as for a REST caller — the key
 * and its scope checked (and its rate limit), credential injection, refresh-ahead and the refresh
 * after a 401, path-escape refusal, no redirect following, the `proxy.call` audit entry.
 */
export function selfGateway(opts: SelfGatewayOptions): GatewayClient {
  const readCap = opts.readCap ?? 1024 * 1024;
  return {
    async call(req) {
      // The path goes as it is — never through URL parsing, which would resolve `..` before the gateway could refuse it.
      const path = `/v1/proxy/${encodeURIComponent(req.connection)}${req.target}`;
      const headers: Record<string, string> = { ...req.headers, ...opts.headers, authorization: req.authorization };
      let res: Dispatcher.ResponseData;
      try {
        res = await opts.dispatcher.request({
          origin: opts.origin(), path, method: req.method as Dispatcher.HttpMethod, headers, body: req.body,
          headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS,
        });
      } catch (e) {
        throw new KeywayError('provider_unavailable', 'The call could not be made through Keyway\'s gateway; retry shortly.', { cause: e, retryAfter: 5 });
      }
      const kept: Buffer[] = [];
      let keptBytes = 0;
      let read = 0;
      let complete = true;
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          read += chunk.length;
          if (keptBytes < req.keep) {
            const part = chunk.subarray(0, req.keep - keptBytes);
            kept.push(part);
            keptBytes += part.length;
          }
          if (read > readCap) {
            complete = false;
            break; // leaving the loop destroys the body: nothing more is read from the provider
          }
        }
      } catch (e) {
        if (read === 0) throw new KeywayError('provider_unavailable', 'The provider\'s answer broke off; retry shortly.', { cause: e, retryAfter: 5 });
        complete = false;
      }
      return { status: res.statusCode, headers: res.headers, kept: Buffer.concat(kept, keptBytes), read, complete };
    },
  };
}
