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
      return new KeywayError('provider_unavailable', `${what}: the provider answered ${e.status} (${e.error}); try again shortly.`, { cause: e, details: { ...details } });
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
    // The cause may be undici's Response rather than the global one: read its status by shape.
    const cause = e.cause as { status?: unknown } | undefined;
    const status = cause && typeof cause.status === 'number' ? cause.status : undefined;
    if (status !== undefined && isTransientStatus(status)) {
      return new KeywayError('provider_unavailable', `${what}: the provider answered ${status}; try again shortly.`, { cause: e, retryAfter: 5 });
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
