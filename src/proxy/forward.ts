import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { KeywayError, isKeywayError } from '../core/errors.ts';
import { HINT_BODY_LIMIT } from './hints.ts';
import { responseHeaders } from './headers.ts';

/** What one upstream attempt sends. `body` is null, a buffer (replayable) or the caller's stream. */
export interface UpstreamRequest {
  origin: string;
  path: string;
  method: string;
  headers: string[];
  body: Buffer | IncomingMessage | null;
}

/**
 * What to do with a response once its status and headers are known: `stream` it to the caller at
 * once (with extra headers), or `hold` its body (up to HINT_BODY_LIMIT) so the caller of
 * `sendUpstream` can look at it and decide (a 401 to retry, a 403 to read for a scope error).
 */
export type Disposition = { kind: 'stream'; extraHeaders: string[] } | { kind: 'hold' };

export type Decide = (status: number, headers: Record<string, string | string[] | undefined>) => Disposition;

export type AttemptResult =
  /** The response went to the caller (or the caller went away mid-way: `complete` false). */
  | { kind: 'streamed'; status: number; complete: boolean }
  /** A held response, nothing written yet: `writeHeld` sends it. */
  | { kind: 'held'; status: number; headers: string[]; parsed: Record<string, string | string[] | undefined>; body: Buffer };

/** Gateway timeouts: waiting for the provider's headers, and between two body chunks. */
const HEADERS_TIMEOUT_MS = 120_000;
const BODY_TIMEOUT_MS = 120_000;

/**
 * One call to the provider with undici's `dispatch()` through the outbound policy's pinned
 * dispatcher (so the host is resolved, checked and pinned; nothing is fetched elsewhere). Redirects
 * are not followed: a 3xx goes back to the caller as it is. Bodies stream both ways with
 * backpressure: the caller's upload is read as the provider takes it, and the provider's answer is
 * paused whenever the caller's socket is full. Rejects (with nothing written) when no response came.
 */
export function sendUpstream(dispatcher: Dispatcher, up: UpstreamRequest, res: ServerResponse, decide: Decide): Promise<AttemptResult> {
  return new Promise<AttemptResult>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | null = null;
    let mode: 'none' | 'stream' | 'hold' = 'none';
    let status = 0;
    let rawHeaders: string[] = [];
    let parsed: Record<string, string | string[] | undefined> = {};
    let held: Buffer[] = [];
    let heldBytes = 0;
    let waitingForDrain = false;
    let settled = false;
    const settle = (r: AttemptResult | Error) => {
      if (settled) return;
      settled = true;
      res.off('close', onClose);
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const onClose = () => {
      if (res.writableFinished) return;
      controller?.abort(new Error('the caller closed the connection'));
      settle({ kind: 'streamed', status, complete: false });
    };
    res.on('close', onClose);
    const onDrain = () => {
      waitingForDrain = false;
      controller?.resume();
    };
    const startStreaming = (extra: string[]) => {
      res.writeHead(status, extra.length > 0 ? [...rawHeaders, ...extra] : rawHeaders);
      mode = 'stream'; // after writeHead: headers it refuses fail the call as a whole (502), not mid-stream
    };
    const write = (chunk: Buffer) => {
      if (!res.write(chunk) && !waitingForDrain) {
        waitingForDrain = true;
        controller?.pause();
        res.once('drain', onDrain);
      }
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
      },
      onResponseStart(c, statusCode, headers) {
        if (statusCode < 200) return; // 1xx: informational, not passed on
        status = statusCode;
        parsed = headers;
        rawHeaders = responseHeaders(c.rawHeaders as Buffer[] ?? flatten(headers));
        const d = decide(statusCode, headers);
        if (d.kind === 'hold') {
          mode = 'hold';
          return;
        }
        startStreaming(d.extraHeaders);
      },
      onResponseData(_c, chunk) {
        if (mode === 'stream') return write(chunk);
        heldBytes += chunk.length;
        held.push(chunk);
        if (heldBytes > HINT_BODY_LIMIT) {
          // Too large to judge: it goes back as it is, streamed from here on.
          startStreaming([]);
          for (const b of held) write(b);
          held = [];
        }
      },
      onResponseEnd() {
        if (mode === 'hold') {
          settle({ kind: 'held', status, headers: rawHeaders, parsed, body: Buffer.concat(held, heldBytes) });
          return;
        }
        res.end();
        settle({ kind: 'streamed', status, complete: true });
      },
      onResponseError(_c, err) {
        if (mode === 'stream') {
          res.destroy(err);
          settle({ kind: 'streamed', status, complete: false });
          return;
        }
        settle(upstreamError(err));
      },
    };
    try {
      dispatcher.dispatch({
        origin: up.origin, path: up.path, method: up.method as Dispatcher.HttpMethod, headers: up.headers, body: up.body,
        headersTimeout: HEADERS_TIMEOUT_MS, bodyTimeout: BODY_TIMEOUT_MS,
      }, handler);
    } catch (err) {
      settle(upstreamError(err));
    }
  });
}

/** Sends a held response as it came, with extra headers (a hint). */
export function writeHeld(res: ServerResponse, held: Extract<AttemptResult, { kind: 'held' }>, extra: string[]): void {
  res.writeHead(held.status, [...held.headers, ...extra]);
  res.end(held.body);
}

function flatten(h: Record<string, string | string[] | undefined>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(h)) {
    if (Array.isArray(v)) for (const x of v) out.push(k, x);
    else if (v !== undefined) out.push(k, v);
  }
  return out;
}

/** A failure before any response: the policy's refusal as it is, otherwise "unreachable". */
function upstreamError(err: unknown): KeywayError {
  if (isKeywayError(err)) return err;
  const e = err as { name?: string; code?: string; cause?: unknown };
  if (isKeywayError(e?.cause)) return e.cause;
  if (e?.code === 'UND_ERR_INVALID_ARG') {
    return new KeywayError('invalid_request', 'The request could not be forwarded: a header or the method is not valid HTTP.', { cause: err });
  }
  const timeout = e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_CONNECT_TIMEOUT';
  return new KeywayError('provider_unavailable', timeout
    ? 'The provider did not answer in time; retry shortly.'
    : 'The provider\'s API could not be reached; retry shortly.', { cause: err, retryAfter: 5 });
}
