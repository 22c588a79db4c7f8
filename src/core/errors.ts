/**
 * Keyway's one error type. Every failure carries a stable `code` from the list below; the HTTP
 * layer maps codes to statuses in exactly one place (src/http/error-mapping.ts). Messages are safe to
 * show a person: they say what happened and what to do next, and never hold a secret. The cause
 * (which may hold provider detail) is kept apart in `cause` and is never sent to a client.
 */
export const ERROR_CODES = {
  invalid_request: 'The request is malformed or a field is invalid.',
  unauthorized: 'No valid API key or session was presented.',
  forbidden: 'The caller may not do this.',
  not_found: 'The resource does not exist (or is not visible to the caller).',
  conflict: 'The request conflicts with the current state.',
  rate_limited: 'Too many requests; retry after the time given.',
  outbound_url_refused: 'A URL Keyway was asked to call is not allowed by the outbound policy.',
  discovery_failed: 'Authorization server metadata could not be discovered or did not match.',
  provider_error: 'The provider answered with an error.',
  provider_unavailable: 'The provider could not be reached or failed transiently.',
  needs_reauth: 'The connection must be re-authenticated by a person.',
  connect_failed: 'A connect attempt could not be completed.',
  vault_error: 'A secret could not be decrypted (wrong key, or a ciphertext moved between records).',
  refresh_in_progress: 'Another refresh of this connection is still running.',
  catalog_invalid: 'A provider definition is invalid.',
  store_unavailable: 'The database could not be reached; retry shortly.',
  internal: 'An unexpected error.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface KeywayErrorOptions {
  /** Internal cause; logged (redacted), never sent to a client. */
  cause?: unknown;
  /** Extra safe-to-show fields for the response body (e.g. provider error code). */
  details?: Record<string, unknown>;
  /** Seconds, for provider_unavailable and rate_limited. */
  retryAfter?: number;
}

export class KeywayError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, options: KeywayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeywayError';
    this.code = code;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
  }
}

export function isKeywayError(e: unknown, code?: ErrorCode): e is KeywayError {
  return e instanceof KeywayError && (code === undefined || e.code === code);
}

/** The same error with a public message, keeping the original as the cause. */
export function wrapError(code: ErrorCode, message: string, cause: unknown, options: Omit<KeywayErrorOptions, 'cause'> = {}): KeywayError {
  return new KeywayError(code, message, { ...options, cause });
}
