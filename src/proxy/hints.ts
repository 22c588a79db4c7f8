import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

/**
 * `Keyway-Hint`: advice added to a provider's response, the response itself untouched. The one
 * that matters most: a 403 because the connection lacks a scope, which only a person can fix by
 * re-authenticating and accepting it.
 */

/** Largest response body read to look for a scope error (error bodies are small). */
export const HINT_BODY_LIMIT = 64 * 1024;

/**
 * Parameters of a `WWW-Authenticate` challenge (`Bearer error="insufficient_scope", scope="a b"`).
 * @see RFC 6750 §3 https://www.rfc-editor.org/rfc/rfc6750#section-3
 */
export function challengeParams(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    const key = m[1]!.toLowerCase();
    if (!(key in out)) out[key] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return out;
}

export interface ScopeProblem {
  /** The scopes the provider says are needed, when it says so. */
  scopes: string[];
}

type Headers = Record<string, string | string[] | undefined>;

function first(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function scopeList(s: unknown): string[] {
  if (typeof s === 'string') return s.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(s)) return s.filter((x): x is string => typeof x === 'string');
  return [];
}

/** From the headers alone: RFC 6750's challenge, or GitHub-style accepted-scope headers. */
export function scopeProblemFromHeaders(status: number, headers: Headers): ScopeProblem | null {
  if (status !== 403 && status !== 401 && status !== 404) return null;
  const challenge = first(headers, 'www-authenticate');
  if (challenge !== undefined && /insufficient_scope/i.test(challenge)) {
    const p = challengeParams(challenge);
    if (p['error']?.toLowerCase() === 'insufficient_scope') return { scopes: scopeList(p['scope']) };
  }
  // X-Accepted-OAuth-Scopes: what the endpoint accepts; X-OAuth-Scopes: what the token has.
  const accepted = scopeList(first(headers, 'x-accepted-oauth-scopes'));
  const granted = first(headers, 'x-oauth-scopes');
  if (status !== 401 && accepted.length > 0 && granted !== undefined) {
    const have = new Set(scopeList(granted));
    if (!accepted.some((s) => have.has(s))) return { scopes: accepted };
  }
  return null;
}

/**
 * A held body as text can be read, whatever `Content-Encoding` the provider used (the caller gets
 * it as sent; `fetch` asks for gzip by default): null for an encoding not known here, or a body
 * that does not decode within a few times the hint limit.
 */
export function readableBody(body: Buffer, contentEncoding: string | string[] | undefined): Buffer | null {
  const encoding = (Array.isArray(contentEncoding) ? contentEncoding.join(',') : contentEncoding ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return body;
  const bound = { maxOutputLength: 4 * HINT_BODY_LIMIT };
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(body, bound);
    if (encoding === 'br') return brotliDecompressSync(body, bound);
    if (encoding === 'deflate') return body[0] !== undefined && (body[0] & 0x0f) === 8 ? inflateSync(body, bound) : inflateRawSync(body, bound);
  } catch {
    return null; // cut short, a bomb past the bound, or not what it says: nothing to recognise
  }
  return null;
}

/**
 * From a small JSON error body, the shapes providers use: `{"error": "insufficient_scope",
 * "scope": …}` (RFC 6750 as a body), `{"error": "missing_scope", "needed": …}`, and
 * `{"error": {"details": [{"reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}}`.
 */
export function scopeProblemFromBody(body: Buffer): ScopeProblem | null {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return null; // not JSON: no shape to recognise, the response goes back as it is
  }
  if (typeof json !== 'object' || json === null) return null;
  const o = json as Record<string, unknown>;
  const err = o['error'];
  if (err === 'insufficient_scope' || err === 'missing_scope' || err === 'insufficient_scopes') {
    return { scopes: scopeList(o['scope'] ?? o['needed'] ?? o['required_scope'] ?? o['scopes']) };
  }
  if (typeof err === 'object' && err !== null) {
    const details = (err as Record<string, unknown>)['details'];
    const status = (err as Record<string, unknown>)['status'];
    if (Array.isArray(details) && details.some((d) => typeof d === 'object' && d !== null && (d as Record<string, unknown>)['reason'] === 'ACCESS_TOKEN_SCOPE_INSUFFICIENT')) {
      return { scopes: [] };
    }
    if (status === 'insufficient_scope') return { scopes: [] };
  }
  return null;
}

/** Header values are one line of visible ASCII; anything a provider sent is cleaned to that. */
export function headerSafe(text: string, max = 600): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 1)}…`.replace(/[^\x20-\x7e]/g, '.') : clean;
}

export function scopeHint(problem: ScopeProblem, granted: readonly string[]): string {
  const missing = problem.scopes.filter((s) => !granted.includes(s));
  const named = (missing.length > 0 ? missing : problem.scopes).slice(0, 10).map((s) => `"${s.slice(0, 100)}"`).join(', ');
  return headerSafe(named === ''
    ? 'insufficient_scope: the provider says this connection lacks a permission (scope) this call needs. Re-authenticate the connection and accept the permissions this call needs.'
    : `insufficient_scope: the provider says this call needs the scope ${named}, which this connection was not granted. Re-authenticate the connection and accept ${named}.`);
}

/** Why a provider 401 goes back to the caller instead of being retried. */
export type UnauthorizedOutcome =
  | 'refreshed' // a new token is stored; the call was not replayed (its body was streamed)
  | 'rejected_after_refresh' // the retry with a new token got a 401 too
  | 'static_credential' // an API key or Basic credential: nothing to refresh
  | 'needs_reauth' // the refresh failed for good
  | 'refresh_failed'; // the refresh failed for now

export function unauthorizedHint(outcome: UnauthorizedOutcome, detail?: string): string {
  const text: Record<UnauthorizedOutcome, string> = {
    refreshed: 'The provider rejected the access token; Keyway refreshed it but did not replay this request, because its body was streamed. Send the request again.',
    rejected_after_refresh: 'The provider rejected the access token, and again after Keyway refreshed it. The connection may lack access to this resource, or need re-authentication.',
    static_credential: 'The provider rejected the stored credential (API key or password). Update the connection with a valid one.',
    needs_reauth: `The provider rejected the access token and it could not be refreshed: the connection needs re-authentication by a person.${detail ? ` ${detail}` : ''}`,
    refresh_failed: `The provider rejected the access token and refreshing it failed for now; retry shortly.${detail ? ` ${detail}` : ''}`,
  };
  return headerSafe(text[outcome]);
}
