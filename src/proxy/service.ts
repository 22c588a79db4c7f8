import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { KeywayError, isKeywayError } from '../core/errors.ts';
import { type Principal, canUseConnection } from '../access/index.ts';
import type { Actor, AuditEvent } from '../audit/index.ts';
import type { ConnectionRecord } from '../store/index.ts';
import { type ProxyUrl, auditPath, checkForwardPath, parseProxyUrl } from './path.ts';
import { requestHeaders } from './headers.ts';
import { type Credential, credentialFor, upstreamQuery } from './inject.ts';
import { HINT_BODY_LIMIT, scopeHint, scopeProblemFromBody, scopeProblemFromHeaders, unauthorizedHint } from './hints.ts';
import { type AttemptResult, type Decide, type Disposition, type UpstreamRequest, sendUpstream, writeHeld } from './forward.ts';
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
  use(orgId: string, id: string, actor: Actor, opts: { audit?: boolean }): Promise<TokenInUse>;
  refreshAfterUnauthorized(orgId: string, id: string, version: number): Promise<{ accessToken: string; version: number }>;
}

export interface ProxyServiceDeps {
  tokens: TokenSource;
  targets: ProxyTargets;
  /** The outbound policy's pinned dispatcher. */
  dispatcher: Dispatcher;
  audit: { record(e: AuditEvent): void };
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

interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  principal: Principal;
  connection: ConnectionRecord;
  target: ProxyTarget;
  base: ApiBase;
  path: string;
  query: string | null;
  body: Buffer | IncomingMessage | null;
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
   * Handles one call on the raw request and response. Rejects with a KeywayError only while nothing
   * has been written, so the HTTP layer can answer it as an error.
   *
   * When the token, its row and the target are in memory and the call has no body (the usual case),
   * nothing is awaited before the request goes out: one promise per call, for the provider's answer.
   */
  handle(req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> {
    const started = performance.now();
    const actor: Actor = principal.keyId === null ? { type: 'member', id: principal.memberId } : { type: 'api_key', id: principal.keyId, memberId: principal.memberId };
    let url: ProxyUrl;
    try {
      url = parseProxyUrl(req.url ?? '');
    } catch (e) {
      return Promise.reject(e); // not a gateway URL at all: nothing to audit
    }
    const seen: { connection: ConnectionRecord | null } = { connection: null };
    let outcome: Promise<Outcome>;
    try {
      outcome = this.#start(req, res, principal, actor, url, seen);
    } catch (e) {
      outcome = Promise.reject(e);
    }
    return outcome.then(
      (done) => this.#audit(principal, actor, url, req.method ?? 'GET', started, seen.connection, done, null),
      (e: unknown) => {
        const failure = isKeywayError(e) ? e : new KeywayError('internal', 'unexpected', { cause: e });
        this.#audit(principal, actor, url, req.method ?? 'GET', started, seen.connection, null, failure);
        throw failure;
      },
    );
  }

  /** Everything up to the provider's answer; `seen.connection` is set once the caller may use it. */
  #start(req: IncomingMessage, res: ServerResponse, principal: Principal, actor: Actor, url: ProxyUrl, seen: { connection: ConnectionRecord | null }): Promise<Outcome> {
    checkForwardPath(url.path);
    if (principal.scope.connections.length > 0 && !principal.scope.connections.includes(url.connectionId)) throw notFound(url.connectionId);
    const hit = hasBody(req) ? undefined : this.#d.tokens.cached(principal.orgId, url.connectionId);
    const target = hit === undefined ? undefined : this.#d.targets.cached(hit.connection);
    if (hit === undefined || target === undefined) return this.#startAfterLoading(req, res, principal, actor, url, seen);
    if (!canUseConnection(principal, hit.connection)) throw notFound(url.connectionId);
    seen.connection = hit.connection;
    const base = pickBase(target, req.headers['keyway-base-url']);
    return this.#callWithRetry({ req, res, principal, connection: hit.connection, target, base, path: url.path, query: url.query, body: null }, hit.token);
  }

  /** `#start` when something must be read or waited for: the row, the token (refreshed first if due), the target, the body. */
  async #startAfterLoading(req: IncomingMessage, res: ServerResponse, principal: Principal, actor: Actor, url: ProxyUrl, seen: { connection: ConnectionRecord | null }): Promise<Outcome> {
    const use = await this.#d.tokens.use(principal.orgId, url.connectionId, actor, { audit: false });
    if (!canUseConnection(principal, use.connection)) throw notFound(url.connectionId);
    seen.connection = use.connection;
    const target = await this.#d.targets.of(use.connection);
    const base = pickBase(target, req.headers['keyway-base-url']);
    const body = hasBody(req) ? await requestBody(req) : null;
    return this.#callWithRetry({ req, res, principal, connection: use.connection, target, base, path: url.path, query: url.query, body }, use.token);
  }

  /** The call's audit entry: method, path, query parameter names, status, duration — never a header value or a body. */
  #audit(principal: Principal, actor: Actor, url: ProxyUrl, method: string, started: number, connection: ConnectionRecord | null, outcome: Outcome | null, failure: KeywayError | null): void {
    const where = auditPath(url.path, url.query);
    const detail: Record<string, unknown> = { method, path: where.path, query: where.query, durationMs: Math.round(performance.now() - started) };
    if (outcome) {
      detail['status'] = outcome.status;
      detail['retried'] = outcome.retried;
      if (!outcome.complete) detail['aborted'] = true;
    }
    if (failure) detail['code'] = failure.code;
    if (connection === null) detail['requestedConnection'] = url.connectionId.slice(0, 100);
    this.#d.audit.record({
      orgId: principal.orgId, actor, action: 'proxy.call', outcome: failure || !outcome?.complete ? 'error' : 'ok',
      integrationId: connection?.integrationId ?? null, connectionId: connection?.id ?? null, detail,
    });
    this.#d.onCall?.({ connection: connection?.id ?? null, detail });
  }

  #callWithRetry(call: Call, token: { accessToken: string; version: number }): Promise<Outcome> {
    const { connection } = call;
    const refreshable = connection.kind === 'oauth2' || connection.kind === 'client_credentials';
    return this.#attempt(call, token.accessToken, refreshable ? 'hold401' : 'static').then((first) => {
      if (first.kind === 'streamed') return { status: first.status, retried: false, complete: first.complete };
      if (first.status !== 401) return this.#sendHeldWithScopeHint(call, first);
      return this.#refreshAndRetry(call, token, first);
    });
  }

  /** A 401 from the provider on an OAuth connection: refresh if the token is still the current one, then replay once. */
  async #refreshAndRetry(call: Call, token: { accessToken: string; version: number }, first: Extract<AttemptResult, { kind: 'held' }>): Promise<Outcome> {
    const { connection } = call;
    const replayable = call.body === null || Buffer.isBuffer(call.body);
    let fresh: { accessToken: string; version: number };
    try {
      fresh = await this.#d.tokens.refreshAfterUnauthorized(connection.orgId, connection.id, token.version);
    } catch (e) {
      const dead = isKeywayError(e, 'needs_reauth');
      writeHeld(call.res, first, [KEYWAY_HINT, unauthorizedHint(dead ? 'needs_reauth' : 'refresh_failed', isKeywayError(e) ? e.message : undefined)]);
      return { status: 401, retried: false, complete: true };
    }
    if (!replayable) {
      writeHeld(call.res, first, [KEYWAY_HINT, unauthorizedHint('refreshed')]);
      return { status: 401, retried: false, complete: true };
    }
    const second = await this.#attempt(call, fresh.accessToken, 'retry');
    if (second.kind === 'streamed') return { status: second.status, retried: true, complete: second.complete };
    const done = this.#sendHeldWithScopeHint(call, second);
    return { ...done, retried: true };
  }

  /**
   * One attempt. `hold401`: a 401 is held back (the caller may refresh and retry). Any response
   * that may be a scope error is held when the headers alone do not tell.
   */
  #attempt(call: Call, secret: string, mode: 'hold401' | 'static' | 'retry'): Promise<AttemptResult> {
    const { connection, target, base } = call;
    const credential: Credential = credentialFor(connection.kind, target.inject, secret);
    const headers = requestHeaders(call.req.rawHeaders, credential.reserved);
    if (credential.header) headers.push(credential.header[0], credential.header[1]);
    for (const [name, value] of Object.entries(target.headers)) {
      if (!hasHeader(headers, name)) headers.push(name, value);
    }
    const up: UpstreamRequest = {
      origin: base.origin,
      path: `${base.basePath}${call.path === '' && base.basePath === '' ? '/' : call.path}${upstreamQuery(call.query, target.inject, credential)}`,
      method: call.req.method ?? 'GET', headers, body: call.body,
    };
    const decide: Decide = (status, h) => {
      if (status < 400) return AS_IS;
      if (status === 401) {
        if (mode === 'hold401') return HOLD;
        return { kind: 'stream', extraHeaders: [KEYWAY_HINT, unauthorizedHint(mode === 'static' ? 'static_credential' : 'rejected_after_refresh')] };
      }
      const fromHeaders = scopeProblemFromHeaders(status, h);
      if (fromHeaders) return { kind: 'stream', extraHeaders: [KEYWAY_HINT, scopeHint(fromHeaders, connection.grantedScopes)] };
      if (status === 403 && mayHoldBody(h)) return HOLD;
      return AS_IS;
    };
    return sendUpstream(this.#d.dispatcher, up, call.res, decide);
  }

  #sendHeldWithScopeHint(call: Call, held: Extract<AttemptResult, { kind: 'held' }>): Outcome {
    const problem = scopeProblemFromBody(held.body);
    writeHeld(call.res, held, problem ? [KEYWAY_HINT, scopeHint(problem, call.connection.grantedScopes)] : []);
    return { status: held.status, retried: false, complete: true };
  }
}

function notFound(id: string): KeywayError {
  return new KeywayError('not_found', `No connection ${id.slice(0, 100)}.`);
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

/** True when a flat [name, value, …] header list has `name` (case-insensitive). */
function hasHeader(flat: readonly string[], name: string): boolean {
  const lower = name.toLowerCase();
  for (let i = 0; i < flat.length; i += 2) if (flat[i]?.toLowerCase() === lower) return true;
  return false;
}
