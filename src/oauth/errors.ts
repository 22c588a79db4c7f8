import * as oauth from 'oauth4webapi';
import { KeywayError } from '../core/errors.ts';

/** What the provider said, kept as it said it (RFC 6749 §5.2). */
export interface ProviderErrorDetails {
  providerError: string;
  providerErrorDescription?: string | undefined;
  providerStatus?: number | undefined;
}

/** The provider error code carried by a KeywayError, if any (e.g. "invalid_grant"). */
export function providerErrorCode(e: unknown): string | undefined {
  if (e instanceof KeywayError && e.details && typeof e.details['providerError'] === 'string') return e.details['providerError'];
  return undefined;
}

/**
 * Text a provider sent (`error`, `error_description`), fit to show a person: control characters
 * dropped, spaces collapsed, at most `max` characters. Undefined when nothing is left. (Escaping
 * is the page's job.) RFC 6749 §4.1.2.1 allows printable ASCII only; some providers send more.
 */
export function providerText(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const clean = value.replace(/[\p{Cc}\p{Cf}]+/gu, ' ').replace(/\s+/g, ' ').trim();
  if (clean === '') return undefined;
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** What the provider said in an error, cleaned for a person: its `error` and `error_description`, when it sent them. */
export function providerSaid(e: unknown): { error?: string | undefined; description?: string | undefined } {
  if (!(e instanceof KeywayError) || !e.details) return {};
  return { error: providerText(e.details['providerError'], 100), description: providerText(e.details['providerErrorDescription'], 300) };
}

function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * Turns whatever a protocol call threw into a KeywayError: provider errors keep the provider's
 * `error`, `error_description` and status; network failures, timeouts and 5xx become
 * `provider_unavailable` (transient); our own errors pass through.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export function toKeywayError(e: unknown, what: string): KeywayError {
  if (e instanceof KeywayError) return e;
  if (e instanceof oauth.ResponseBodyError) {
    const details: ProviderErrorDetails = {
      providerError: e.error, providerErrorDescription: e.error_description, providerStatus: e.status,
    };
    if (isTransientStatus(e.status)) {
      const wait = providerRetryAfter(e.response);
      return new KeywayError('provider_unavailable', `${what}: the provider answered ${e.status} (${e.error}); ${waitText(wait)}`, {
        cause: e, details: { ...details, ...(wait === undefined ? {} : { providerRetryAfter: wait }) }, ...(wait === undefined ? {} : { retryAfter: wait }),
      });
    }
    return new KeywayError('provider_error', `${what}: the provider answered "${e.error}"${e.error_description ? `: ${e.error_description}` : ''}.`, { cause: e, details: { ...details } });
  }
  if (e instanceof oauth.AuthorizationResponseError) {
    return new KeywayError('connect_failed', `${what}: the provider returned "${e.error}"${e.error_description ? `: ${e.error_description}` : ''}.`, {
      cause: e, details: { providerError: e.error, providerErrorDescription: e.error_description },
    });
  }
  if (e instanceof oauth.WWWAuthenticateChallengeError) {
    return new KeywayError('provider_error', `${what}: the provider refused the client credentials (${e.status}).`, {
      cause: e, details: { providerError: e.cause[0]?.parameters.error ?? 'invalid_client', providerStatus: e.status },
    });
  }
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return new KeywayError('provider_unavailable', `${what}: the provider did not answer in time; try again shortly.`, { cause: e, retryAfter: 5 });
  }
  if (e instanceof oauth.OperationProcessingError) {
    // The body could not be read to its end (cut, or stalled past the timeout): the answer was
    // lost, not bad. The provider may have acted on the request, as with a drop before the headers.
    if (e.code === oauth.PARSE_ERROR && lostRead(e.cause)) {
      const how = e.cause.name === 'TimeoutError' || e.cause.name === 'AbortError' ? 'stopped coming before the timeout' : 'was cut off';
      return new KeywayError('provider_unavailable', `${what}: the provider's answer ${how} after it had begun; try again shortly.`, { cause: e.cause, retryAfter: 5 });
    }
    // The cause may be undici's Response rather than the global one: read its status by shape.
    const cause = e.cause as { status?: unknown; headers?: unknown } | undefined;
    const status = cause && typeof cause.status === 'number' ? cause.status : undefined;
    if (status !== undefined && isTransientStatus(status)) {
      const wait = providerRetryAfter(cause);
      return new KeywayError('provider_unavailable', `${what}: the provider answered ${status}; ${waitText(wait)}`, {
        cause: e, retryAfter: wait ?? 5, ...(wait === undefined ? {} : { details: { providerRetryAfter: wait } }),
      });
    }
    // `e.code` (OAUTH_RESPONSE_IS_NOT_JSON…) is oauth4webapi's name for the check that failed, not
    // anything the provider said: it stays in the cause (the log), never in `providerError`.
    return new KeywayError('provider_error', `${what}: the provider's response was not valid (${e.message}).`, { cause: e });
  }
  if (e instanceof oauth.UnsupportedOperationError) {
    return new KeywayError('provider_error', `${what}: the provider's response uses something Keyway does not support (${e.message}).`, { cause: e });
  }
  if (e instanceof TypeError) {
    return new KeywayError('provider_unavailable', `${what}: the provider could not be reached; try again shortly.`, { cause: e, retryAfter: 5 });
  }
  return new KeywayError('internal', `${what} failed unexpectedly.`, { cause: e });
}

/** The longest wait taken from a provider's Retry-After: beyond it, a person should look. */
const MAX_RETRY_AFTER_S = 3600;

/**
 * The seconds a 429 or 503 asks the client to wait (`Retry-After: <seconds>`), at most an hour;
 * undefined when absent or given as an HTTP date (read no clock here).
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
 */
function providerRetryAfter(res: { headers?: unknown } | undefined): number | undefined {
  // Read by shape: the response may be undici's rather than the global one.
  const headers = res?.headers as { get?: unknown } | undefined;
  const raw = typeof headers?.get === 'function' ? (headers as Headers).get('retry-after') : null;
  if (raw === null || !/^\s*\d+\s*$/.test(raw)) return undefined;
  return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Number(raw)));
}

function waitText(wait: number | undefined): string {
  return wait === undefined ? 'try again shortly.' : `it asked to wait ${wait} s before trying again.`;
}

/** The provider answered, but with a body Keyway could not use (it may have rotated the refresh token). */
export function answerRejected(e: unknown): boolean {
  return e instanceof KeywayError && e.code === 'provider_error' && (e.cause instanceof oauth.OperationProcessingError || e.cause instanceof oauth.UnsupportedOperationError);
}

/** The wait a provider asked for in the answer behind this error (Retry-After), if any. */
export function providerWait(e: unknown): number | undefined {
  const wait = e instanceof KeywayError ? e.details?.['providerRetryAfter'] : undefined;
  return typeof wait === 'number' ? wait : undefined;
}

function lostRead(e: unknown): e is Error {
  return e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError' || e instanceof TypeError);
}

/**
 * The request may have reached the provider but its answer was not read: a timeout, or a
 * connection broken before or during the answer. The provider may have acted on it (rotated a
 * refresh token), so this is neither a definitive failure nor a bad answer.
 */
export function responseLost(e: unknown): boolean {
  return e instanceof KeywayError && e.code === 'provider_unavailable' && lostRead(e.cause);
}
