import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { KeywayError, isKeywayError } from '../core/errors.ts';
import { type Principal, actorOf, canUseConnection } from '../access/index.ts';
import type { Actor, AuditEvent } from '../audit/index.ts';
import type { ConnectionRecord } from '../store/index.ts';
import { type ProxyUrl, checkForwardPath, parseProxyUrl, refuseRawHash } from './path.ts';
import { callEvent } from './call-event.ts';
import { headerValue, requestHeaders } from './headers.ts';
import { type Credential, upstreamQuery } from './inject.ts';
import { HINT_BODY_LIMIT, readableBody, scopeHint, scopeProblemFromBody, scopeProblemFromHeaders, unauthorizedHint } from './hints.ts';
import { type AttemptDone, type AttemptResult, type Decider, type Disposition, GATEWAY_TIMEOUT_MS, startUpstream, upstreamRequest, writeHeld } from './forward.ts';
import { type ApiBase, type ProxyTarget, type ProxyTargets, pickBase } from './target.ts';

/** A usable token with its connection row (the token service's answer). */
export interface TokenInUse {
  connection: ConnectionRecord;
  token: { accessToken: string; version: number };
}

/** What the gateway needs from the token lifecycle; `TokenService` provides it. */
export interface TokenSource {
  /** The token and row from memory when they can be used as they are (checked lately, not due for a refresh). */
  cached(orgId: string, id: string): TokenInUse | undefined;
  /** `mayUse` is asked of the row before its status is reviewed or its token refreshed (`not_found` when false). */
  use(orgId: string, id: string, actor: Actor, opts: { audit?: boolean; mayUse?: (c: ConnectionRecord) => boolean }): Promise<TokenInUse>;
  refreshAfterUnauthorized(orgId: string, id: string, version: number): Promise<{ accessToken: string; version: number }>;
}

export interface ProxyServiceDeps {
  tokens: TokenSource;
  targets: ProxyTargets;
  /** The outbound policy's pinned dispatcher. */
  dispatcher: Dispatcher;
  audit: { record(e: AuditEvent): void; recordRepeated(e: AuditEvent, durationMs: number | null): void };
  /** How long the provider may take to start answering, or stall mid-body (default GATEWAY_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Told of every call with what the audit keeps (the request log at debug level). */
  onCall?: (summary: { connection: string | null; detail: Record<string, unknown> }) => void;
}

/** A request body Keyway may buffer so it can be sent again after a refresh. */
export const REPLAYABLE_BODY_LIMIT = 64 * 1024;

const KEYWAY_HINT = 'Keyway-Hint';
const AS_IS: Disposition = { kind: 'stream', extraHeaders: [] };
const HOLD: Disposition = { kind: 'hold' };

/** How a call ended, for its audit entry. */
interface Outcome {
  status: number;
  retried: boolean;
  /** False when the caller went away mid-answer. */
  complete: boolean;
}

/** A call from its start: what the audit entry needs, whatever happens next. */
interface Started {
  req: IncomingMessage;
  res: ServerResponse;
  principal: Principal;
  url: ProxyUrl;
  /** performance.now() when the call arrived. */
  at: number;
  /** Answers the caller with the error (nothing was written yet). */
  fail: (e: KeywayError) => void;
  /** Set once the caller may use it. */
  connection: ConnectionRecord | null;
  /** Set once known (with the connection): where its completed calls' audit event is kept. */
  target: ProxyTarget | null;
}

/** How an attempt treats a 401: held back to refresh and retry, or passed on with a hint saying why not. */
type AttemptMode = 'hold401' | 'static' | 'retry';

/**
 * A call once its connection and target are known. It decides, for the attempt under way, what to
 * do with the provider's answer once its status and headers are in (one object per call, not a
 * closure per attempt).
 */
class Call implements Decider {
  readonly started: Started;
  readonly connection: ConnectionRecord;
  readonly target: ProxyTarget;
  readonly base: ApiBase;
  readonly body: Buffer | IncomingMessage | null;
  /** The attempt under way (attempts run one after another). */
  mode: AttemptMode = 'hold401';

  constructor(started: Started, connection: ConnectionRecord, target: ProxyTarget, base: ApiBase, body: Buffer | IncomingMessage | null) {
    this.started = started;
    this.connection = connection;
    this.target = target;
    this.base = base;
    this.body = body;
  }

  decide(status: number, h: Record<string, string | string[] | undefined>): Disposition {
    if (status < 400) return AS_IS;
    if (status === 401) {
      if (this.mode === 'hold401') return HOLD;
      return { kind: 'stream', extraHeaders: [KEYWAY_HINT, unauthorizedHint(this.mode === 'static' ? 'static_credential' : 'rejected_after_refresh')] };
    }
    const fromHeaders = scopeProblemFromHeaders(status, h);
    if (fromHeaders) return { kind: 'stream', extraHeaders: [KEYWAY_HINT, scopeHint(fromHeaders, this.connection.grantedScopes)] };
    if (status === 403 && mayHoldBody(h)) return HOLD;
    return AS_IS;
  }
}

/**
 * The gateway: `/v1/proxy/{connection}/{path}` forwarded to the provider's API base URL with the
 * connection's credential injected. The token is made fresh first (refresh-ahead, the same lock as
 * `/token`); on a provider 401 the token is refreshed only if it is still the current one, and the
 * call replayed once when its body can be. Every call is audited: method, path, query parameter
 * names, status and duration — never a header value or a body.
 */
export class ProxyService {
  readonly #d: ProxyServiceDeps;

  constructor(deps: ProxyServiceDeps) {
    this.#d = deps;
  }

  /**
   * Handles one call on the raw request and response. `fail` is called with the error only while
   * nothing has been written, so the HTTP layer can answer it as an error.
   *
   * When the token, its row and the target are in memory and the call has no body (the usual case),
   * nothing is awaited and no promise is made: the request goes out at once, and the answer is
   * streamed back and audited from the dispatch handler's callbacks.
   */
  handle(req: IncomingMessage, res: ServerResponse, principal: Principal, fail: (e: KeywayError) => void): void {
    const at = performance.now();
    let url: ProxyUrl;
    try {
      url = parseProxyUrl(req.url ?? '');
    } catch (e) {
      fail(asKeywayError(e)); // not a gateway URL at all: nothing to audit
      return;
    }
    const started: Started = { req, res, principal, url, at, fail, connection: null, target: null };
    try {
      if (this.#startFromMemory(started)) return;
    } catch (e) {
      this.#end(started, null, asKeywayError(e));
      return;
    }
    this.#startAfterLoading(started).catch((e: unknown) => this.#end(started, null, asKeywayError(e)));
  }

  /** The usual call: everything in memory, no body. False when something must be read or waited for. */
  #startFromMemory(started: Started): boolean {
    const { req, principal, url } = started;
    checkForwardPath(url.path);
    if (url.query !== null) refuseRawHash(url.query, 'query'); // before any token work, as for the path
    refuseUnsafeMethod(req.method);
    refuseWebSocket(req);
    if (principal.scope.connections.length > 0 && !principal.scope.connections.includes(url.connectionId)) throw notFound(url.connectionId);
    if (hasBody(req)) return false;
    const hit = this.#d.tokens.cached(principal.orgId, url.connectionId);
    const target = hit === undefined ? undefined : this.#d.targets.cached(hit.connection);
    if (hit === undefined || target === undefined) return false;
    if (!canUseConnection(principal, hit.connection)) throw notFound(url.connectionId);
    started.connection = hit.connection;
    started.target = target;
    const base = pickBase(target, req.headers['keyway-base-url']);
    this.#firstAttempt(new Call(started, hit.connection, target, base, null), hit.token);
    return true;
  }

  /** When something must be read or waited for: the row, the token (refreshed first if due), the target, the body. */
  async #startAfterLoading(started: Started): Promise<void> {
    const { req, principal, url } = started;
    // Access is decided on the row before the token is made fresh: someone who may not use the
    // connection gets a 404 and causes no refresh at the provider.
    const mayUse = (c: ConnectionRecord): boolean => canUseConnection(principal, c);
    const use = await this.#d.tokens.use(principal.orgId, url.connectionId, actorOf(principal), { audit: false, mayUse });
    started.connection = use.connection;
    const target = await this.#d.targets.of(use.connection);
    started.target = target;
    const base = pickBase(target, req.headers['keyway-base-url']);
    const body = hasBody(req) ? await requestBody(req) : null;
    this.#firstAttempt(new Call(started, use.connection, target, base, body), use.token);
  }

  /** The first attempt; a held answer (a 401 to retry after a refresh, a 403 to read) goes on as a promise. */
  #firstAttempt(call: Call, token: { accessToken: string; version: number }): void {
    const refreshable = call.connection.kind === 'oauth2' || call.connection.kind === 'client_credentials';
    this.#attempt(call, token.accessToken, refreshable ? 'hold401' : 'static', (first) => {
      if (first instanceof KeywayError) return this.#end(call.started, null, first);
      if (first.kind === 'streamed') return this.#end(call.started, { status: first.status, retried: false, complete: first.complete }, null);
      this.#afterHeld(call, token, first).then((o) => this.#end(call.started, o, null), (e: unknown) => this.#end(call.started, null, asKeywayError(e)));
    });
  }

  /** A held first answer: a 401 refreshes and retries; anything else goes back, with a hint when it is a scope error. */
  async #afterHeld(call: Call, token: { accessToken: string; version: number }, first: Extract<AttemptResult, { kind: 'held' }>): Promise<Outcome> {
    return first.status === 401 ? this.#refreshAndRetry(call, token, first) : this.#sendHeldWithScopeHint(call, first);
  }

  /** The call is over: its audit entry, and the caller answered with the error if there was one. */
  #end(started: Started, outcome: Outcome | null, failure: KeywayError | null): void {
    this.#audit(started, outcome, failure);
    if (failure) started.fail(failure);
  }

  /**
   * The call's audit entry: method, path, query parameter names, status, duration — never a header
   * value or a body. A call that got its answer is recorded as repeatable: the same call with the
   * same answer within a second is one entry with each call's time and duration (see
   * `AuditWriter.recordRepeated`), and its event is the one the target kept from the connection's
   * last such call when it is the same call; a failed or cut-off call is an entry of its own.
   */
  #audit(started: Started, outcome: Outcome | null, failure: KeywayError | null): void {
    const { url, principal, connection, target } = started;
    const durationMs = Math.round(performance.now() - started.at);
    const method = started.req.method ?? 'GET';
    if (outcome?.complete === true && connection !== null && target !== null) {
      const event = target.audit.for(principal, connection, method, url.path, url.query, outcome.status, outcome.retried);
      this.#d.audit.recordRepeated(event, durationMs);
      this.#d.onCall?.({ connection: connection.id, detail: { ...event.detail, durationMs } });
      return;
    }
    const answered = outcome !== null && connection !== null;
    const event = callEvent(principal, connection, method, url.path, url.query, answered ? outcome.status : null, answered && outcome.retried);
    const detail = event.detail!;
    detail['durationMs'] = durationMs;
    if (outcome && !outcome.complete) detail['aborted'] = true;
    if (failure) detail['code'] = failure.code;
    if (connection === null) detail['requestedConnection'] = url.connectionId.slice(0, 100);
    event.outcome = failure || !outcome?.complete ? 'error' : 'ok';
    this.#d.audit.record(event);
    this.#d.onCall?.({ connection: connection?.id ?? null, detail });
  }

  /** A 401 from the provider on an OAuth connection: refresh if the token is still the current one, then replay once. */
  async #refreshAndRetry(call: Call, token: { accessToken: string; version: number }, first: Extract<AttemptResult, { kind: 'held' }>): Promise<Outcome> {
    const { connection } = call;
    const res = call.started.res;
    const replayable = call.body === null || Buffer.isBuffer(call.body);
    let fresh: { accessToken: string; version: number };
    try {
      fresh = await this.#d.tokens.refreshAfterUnauthorized(connection.orgId, connection.id, token.version);
    } catch (e) {
      const dead = isKeywayError(e, 'needs_reauth');
      writeHeld(res, first, [KEYWAY_HINT, unauthorizedHint(dead ? 'needs_reauth' : 'refresh_failed', isKeywayError(e) ? e.message : undefined)]);
      return { status: 401, retried: false, complete: true };
    }
    if (!replayable) {
      writeHeld(res, first, [KEYWAY_HINT, unauthorizedHint('refreshed')]);
      return { status: 401, retried: false, complete: true };
    }
    const second = await new Promise<AttemptResult>((resolve, reject) => {
      this.#attempt(call, fresh.accessToken, 'retry', (r) => (r instanceof KeywayError ? reject(r) : resolve(r)));
    });
    if (second.kind === 'streamed') return { status: second.status, retried: true, complete: second.complete };
    const done = this.#sendHeldWithScopeHint(call, second);
    return { ...done, retried: true };
  }

  /**
   * One attempt. `hold401`: a 401 is held back (the caller may refresh and retry). Any response
   * that may be a scope error is held when the headers alone do not tell.
   */
  #attempt(call: Call, secret: string, mode: AttemptMode, done: AttemptDone): void {
    const { connection, target, base } = call;
    const { req, res } = call.started;
    const credential: Credential = target.credential.for(connection.kind, target.inject, secret);
    const headers = requestHeaders(req.rawHeaders, credential.reserved);
    if (credential.header) headers.push(credential.header[0], credential.header[1]);
    for (const name in target.headers) {
      if (headerValue(headers, name.toLowerCase()) === undefined) headers.push(name, target.headers[name]!);
    }
    const { path, query } = call.started.url;
    const upstreamPath = `${base.basePath}${path === '' && base.basePath === '' ? '/' : path}${upstreamQuery(query, target.inject, credential)}`;
    call.mode = mode;
    startUpstream(this.#d.dispatcher, upstreamRequest(base.origin, upstreamPath, req.method ?? 'GET', headers, call.body, this.#d.timeoutMs ?? GATEWAY_TIMEOUT_MS), res, call, done);
  }

  #sendHeldWithScopeHint(call: Call, held: Extract<AttemptResult, { kind: 'held' }>): Outcome {
    const readable = readableBody(held.body, held.parsed['content-encoding']);
    const problem = readable === null ? null : scopeProblemFromBody(readable);
    writeHeld(call.started.res, held, problem ? [KEYWAY_HINT, scopeHint(problem, call.connection.grantedScopes)] : []);
    return { status: held.status, retried: false, complete: true };
  }
}

function asKeywayError(e: unknown): KeywayError {
  return isKeywayError(e) ? e : new KeywayError('internal', 'unexpected', { cause: e });
}

function notFound(id: string): KeywayError {
  return new KeywayError('not_found', `No connection ${id.slice(0, 100)}.`);
}

/**
 * TRACE asks the server to echo the request back — with the credential Keyway just injected, handing
 * the raw token to a caller who may only proxy. RFC 9110 §9.3.8: a client must not send credentials
 * in a TRACE. (CONNECT never gets here: Node answers it apart; its parser refuses TRACK.)
 */
function refuseUnsafeMethod(method: string | undefined): void {
  if (method !== 'TRACE') return;
  throw new KeywayError('invalid_request', `The gateway does not forward ${method}: the provider would echo the request back, credential included. Send the call with another method.`,
    { details: { reason: 'method_not_forwarded' } });
}

/**
 * A WebSocket upgrade cannot pass: the gateway forwards HTTP requests, and `Upgrade` is a hop-by-hop
 * header it drops, so the provider would see a plain request and answer something confusing.
 */
function refuseWebSocket(req: IncomingMessage): void {
  const upgrade = req.headers.upgrade;
  if (upgrade === undefined || !/websocket/i.test(upgrade)) return;
  throw new KeywayError('invalid_request', 'The gateway forwards HTTP requests; it does not carry WebSocket connections. Read the token with GET /v1/connections/{id}/token (an API key that may read tokens) and open the socket to the provider directly.');
}

/** A small JSON (or untyped) 403 body is worth reading for a scope error; a large or binary one is not. */
function mayHoldBody(h: Record<string, string | string[] | undefined>): boolean {
  const length = Number(h['content-length'] ?? NaN);
  if (Number.isFinite(length) && length > HINT_BODY_LIMIT) return false;
  const type = String(h['content-type'] ?? '');
  return type === '' || /json/i.test(type);
}

/**
 * The caller's body: none; buffered when it is small and its length is declared (so a call can be
 * replayed after a refresh); otherwise the caller's stream itself, forwarded as it arrives.
 */
function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
}

async function requestBody(req: IncomingMessage): Promise<Buffer | IncomingMessage> {
  const te = req.headers['transfer-encoding'];
  const cl = req.headers['content-length'];
  const length = cl === undefined ? NaN : Number(cl);
  if (te !== undefined || !(length <= REPLAYABLE_BODY_LIMIT)) return req;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
