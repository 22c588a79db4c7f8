import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { KeywayError, isKeywayError } from '../core/errors.ts';
import { HINT_BODY_LIMIT } from './hints.ts';
import { responseHeaders } from './headers.ts';

/**
 * What one upstream attempt sends, as undici's `dispatch()` takes it (made by `upstreamRequest`).
 * `body` is null, a buffer (replayable) or the caller's stream.
 */
export interface UpstreamRequest {
  origin: string;
  path: string;
  method: Dispatcher.HttpMethod;
  headers: string[];
  body: Buffer | IncomingMessage | null;
  headersTimeout: number;
  bodyTimeout: number;
}

/**
 * What to do with a response once its status and headers are known: `stream` it to the caller at
 * once (with extra headers), or `hold` its body (up to HINT_BODY_LIMIT) so the caller of
 * `startUpstream` can look at it and decide (a 401 to retry, a 403 to read for a scope error).
 */
export type Disposition = { kind: 'stream'; extraHeaders: string[] } | { kind: 'hold' };

export interface Decider {
  decide(status: number, headers: Record<string, string | string[] | undefined>): Disposition;
}

export type AttemptResult =
  /** The response went to the caller (or the caller went away mid-way: `complete` false). */
  | { kind: 'streamed'; status: number; complete: boolean }
  /**
   * A held response, nothing written yet: `writeHeld` sends it. `cut`: a 401 whose body was past
   * HINT_BODY_LIMIT, dropped unread so the refresh can still happen; `body` is then empty.
   */
  | { kind: 'held'; status: number; headers: string[]; parsed: Record<string, string | string[] | undefined>; body: Buffer; cut: boolean };

/**
 * The gateway's default timeout (KEYWAY_GATEWAY_TIMEOUT_MS): how long the provider may take to start
 * its answer, and how long its body may stall between two chunks.
 */
export const GATEWAY_TIMEOUT_MS = 120_000;

/** Told once how an attempt ended: its result, or the failure before any response (nothing written). */
export type AttemptDone = (r: AttemptResult | KeywayError) => void;

/** One attempt's request; `timeoutMs` both for the provider's headers and between two body chunks. */
export function upstreamRequest(origin: string, path: string, method: string, headers: string[], body: Buffer | IncomingMessage | null, timeoutMs: number): UpstreamRequest {
  return { origin, path, method: method as Dispatcher.HttpMethod, headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs };
}

/**
 * One call to the provider with undici's `dispatch()` through the outbound policy's pinned
 * dispatcher (so the host is resolved, checked and pinned; nothing is fetched elsewhere). Redirects
 * are not followed: a 3xx goes back to the caller as it is. Bodies stream both ways with
 * backpressure: the caller's upload is read as the provider takes it, and the provider's answer is
 * paused whenever the caller's socket is full. `done` is called once; with a KeywayError (and
 * nothing written) when no response came.
 *
 * The gateway's hot path: one handler object per attempt and no promise.
 */
export function startUpstream(dispatcher: Dispatcher, up: UpstreamRequest, res: ServerResponse, decider: Decider, done: AttemptDone): void {
  const attempt = new UpstreamAttempt(res, decider, done);
  try {
    dispatcher.dispatch(up, attempt);
  } catch (err) {
    attempt.settle(upstreamError(err));
  }
}

const NONE = 0;
const STREAM = 1;
const HOLD = 2;

/** Until the response starts: nothing to pass on. */
const NO_HEADERS: string[] = [];
const NO_PARSED: Record<string, string | string[] | undefined> = {};

/** One attempt's dispatch handler: streams the answer to the caller, or holds it for `decide`'s caller. */
class UpstreamAttempt implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #decider: Decider;
  #done: AttemptDone | null;
  #controller: Dispatcher.DispatchController | null = null;
  #mode = NONE;
  #status = 0;
  #rawHeaders = NO_HEADERS;
  #parsed = NO_PARSED;
  /** A held body's chunks; made when a response is held (most are streamed). */
  #held: Buffer[] | null = null;
  #heldBytes = 0;
  /** Made the first time the caller's socket is full (most answers never fill it). */
  #onDrain: (() => void) | null = null;
  #waitingForDrain = false;

  constructor(res: ServerResponse, decider: Decider, done: AttemptDone) {
    this.#res = res;
    this.#decider = decider;
    this.#done = done;
    // Not removed when the attempt ends (that cost more than the check): once settled it does nothing.
    res.on('close', this.#onClose);
  }

  settle(r: AttemptResult | KeywayError): void {
    const done = this.#done;
    if (done === null) return;
    this.#done = null;
    done(r);
  }

  readonly #onClose = (): void => {
    if (this.#done === null || this.#res.writableFinished) return;
    this.#controller?.abort(new Error('the caller closed the connection'));
    this.settle({ kind: 'streamed', status: this.#status, complete: false });
  };

  #startStreaming(extra: string[]): void {
    this.#res.writeHead(this.#status, extra.length > 0 ? [...this.#rawHeaders, ...extra] : this.#rawHeaders);
    this.#mode = STREAM; // after writeHead: headers it refuses fail the call as a whole (502), not mid-stream
  }

  #write(chunk: Buffer): void {
    if (!this.#res.write(chunk) && !this.#waitingForDrain) {
      this.#waitingForDrain = true;
      this.#controller?.pause();
      this.#onDrain ??= (): void => {
        this.#waitingForDrain = false;
        this.#controller?.resume();
      };
      this.#res.once('drain', this.#onDrain);
    }
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.#controller = c;
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return; // 1xx: informational, not passed on
    this.#status = statusCode;
    this.#parsed = headers;
    this.#rawHeaders = responseHeaders(headers);
    const d = this.#decider.decide(statusCode, headers);
    if (d.kind === 'hold') this.#mode = HOLD;
    else this.#startStreaming(d.extraHeaders);
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#mode === STREAM) return this.#write(chunk);
    if (this.#done === null) return; // a cut 401, already handed over
    const held = this.#held ??= [];
    this.#heldBytes += chunk.length;
    held.push(chunk);
    if (this.#heldBytes > HINT_BODY_LIMIT && this.#status === 401) {
      // A large 401 page (a CDN's HTML): what matters is the refresh and the retry, not the page.
      // Its body is dropped and its connection closed, rather than read to an end that may be far off.
      this.#held = null;
      this.settle({ kind: 'held', status: 401, headers: this.#rawHeaders, parsed: this.#parsed, body: EMPTY, cut: true });
      this.#controller?.abort(new Error('a 401 body past the hint limit is not read'));
      return;
    }
    if (this.#heldBytes > HINT_BODY_LIMIT) {
      // Too large to judge: it goes back as it is, streamed from here on.
      this.#startStreaming([]);
      for (const b of held) this.#write(b);
      this.#held = null;
    }
  }

  onResponseEnd(): void {
    if (this.#mode === HOLD) {
      this.settle({ kind: 'held', status: this.#status, headers: this.#rawHeaders, parsed: this.#parsed, body: Buffer.concat(this.#held ?? [], this.#heldBytes), cut: false });
      return;
    }
    this.#res.end();
    this.settle({ kind: 'streamed', status: this.#status, complete: true });
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.#mode === STREAM) {
      this.#res.destroy(err);
      this.settle({ kind: 'streamed', status: this.#status, complete: false });
      return;
    }
    this.settle(upstreamError(err));
  }
}

/**
 * Sends a held response as it came, with extra headers (a hint). A cut one goes with its status and
 * headers but no body (its length and encoding headers left out, as they describe the dropped one).
 */
export function writeHeld(res: ServerResponse, held: Extract<AttemptResult, { kind: 'held' }>, extra: string[]): void {
  if (!held.cut) {
    res.writeHead(held.status, [...held.headers, ...extra]);
    res.end(held.body);
    return;
  }
  const kept: string[] = [];
  for (let i = 0; i < held.headers.length; i += 2) {
    if (!ABOUT_THE_BODY.has(held.headers[i]!.toLowerCase())) kept.push(held.headers[i]!, held.headers[i + 1]!);
  }
  res.writeHead(held.status, [...kept, 'content-length', '0', ...extra]);
  res.end();
}

/** Headers that describe a body, left out when the body is not sent. */
const ABOUT_THE_BODY = new Set(['content-length', 'content-encoding', 'content-type', 'transfer-encoding', 'content-range', 'etag', 'last-modified']);
const EMPTY = Buffer.alloc(0);

/** A failure before any response: the policy's refusal as it is, otherwise "unreachable". */
function upstreamError(err: unknown): KeywayError {
  if (isKeywayError(err)) return err;
  const e = err as { name?: string; code?: string; cause?: unknown };
  if (isKeywayError(e?.cause)) return e.cause;
  if (e?.code === 'UND_ERR_INVALID_ARG') {
    return new KeywayError('invalid_request', 'The request could not be forwarded: a header or the method is not valid HTTP.', { cause: err });
  }
  if (e?.code === 'UND_ERR_HEADERS_OVERFLOW') {
    // The provider got the request and answered: trying again would run it again and fail the same way.
    return new KeywayError('provider_error', 'The provider answered with headers larger than Keyway reads (16 KB in all), so its answer could not be passed on. The request did reach the provider: check there whether it took effect before sending it again.', { cause: err });
  }
  const timeout = e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT' || e?.code === 'UND_ERR_CONNECT_TIMEOUT';
  return new KeywayError('provider_unavailable', timeout
    ? 'The provider did not answer in time; retry shortly.'
    : 'The provider\'s API could not be reached; retry shortly.', { cause: err, retryAfter: 5 });
}
