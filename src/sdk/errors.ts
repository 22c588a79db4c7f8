/**
 * What the SDK throws: errors as values with stable codes (STYLE.md), never a bare string. Neither
 * ever holds the API key or a token: messages come from Keyway's own answers, which never do.
 */

/** Keyway refused or failed the request: its `{error: {code, message}}` answer, as received. */
export class KeywayApiError extends Error {
  override readonly name = 'KeywayApiError';
  /** The HTTP status (401, 403, 404, 409, 429, 503, …). */
  readonly status: number;
  /** Keyway's stable error code (`unauthorized`, `not_found`, `needs_reauth`, `rate_limited`, …). */
  readonly code: string;
  /** Seconds to wait before trying again, when Keyway said (`Retry-After`: rate limits, a provider down). */
  readonly retryAfter: number | null;
  /** The error's other fields (e.g. `connection` for `needs_reauth`, `issues` for invalid input). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(status: number, code: string, message: string, retryAfter: number | null, details: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.details = details;
  }
}

/** Keyway could not be reached at all (wrong URL, server down, connection cut): nothing was answered. */
export class KeywayUnreachableError extends Error {
  override readonly name = 'KeywayUnreachableError';
  /** The address that was called. */
  readonly url: string;

  constructor(url: string, cause: unknown) {
    super(`Cannot reach Keyway at ${url}: ${cause instanceof Error ? cause.message : String(cause)}. Is the server running, and is the SDK's url right?`, { cause });
    this.url = url;
  }
}

/** `ConnectSessions.wait` gave up: the session was still pending after `timeoutMs`. */
export class KeywayWaitTimeout extends Error {
  override readonly name = 'KeywayWaitTimeout';
  readonly session: string;

  constructor(session: string, timeoutMs: number) {
    super(`Connect session ${session} was still pending after ${timeoutMs} ms. The person has not finished yet; wait again, or start a new session.`);
    this.session = session;
  }
}
