import { KeywayError } from '../core/errors.ts';

/**
 * The gateway's URL: `/v1/proxy/{connection}/{path}?{query}`. The path and query are forwarded as
 * received — percent-encoded characters untouched (GitLab needs `%2F` inside a segment) — below the
 * provider's API base URL. Only what would leave that base is refused; see `checkForwardPath`.
 */
export const PROXY_PREFIX = '/v1/proxy/';

export interface ProxyUrl {
  connectionId: string;
  /** Raw path after the connection id: '' or starting with '/'. */
  path: string;
  /** Raw query string without '?', or null when there was none. */
  query: string | null;
}

/** Splits the raw request URL (as received, never decoded). */
export function parseProxyUrl(rawUrl: string): ProxyUrl {
  if (!rawUrl.startsWith(PROXY_PREFIX)) throw new KeywayError('not_found', 'Proxy URLs are /v1/proxy/{connection}/{path}.');
  const q = rawUrl.indexOf('?');
  const pathPart = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const slash = pathPart.indexOf('/', PROXY_PREFIX.length);
  const connectionId = slash === -1 ? pathPart.slice(PROXY_PREFIX.length) : pathPart.slice(PROXY_PREFIX.length, slash);
  if (connectionId === '') {
    throw new KeywayError('invalid_request', 'Put the connection id after /v1/proxy/: /v1/proxy/{connection}/{path}.');
  }
  return { connectionId, path: slash === -1 ? '' : pathPart.slice(slash), query: q === -1 ? null : rawUrl.slice(q + 1) };
}

/** A path without any of these has no dot segment, scheme, userinfo, encoded separator or raw `#`. */
const MAY_ESCAPE = /[%.\\:@#]/;
/** The characters that give a path structure, decoded once; everything else stays as sent. */
const STRUCTURAL = /%(2e|2f|5c|3a|40)/gi;
/** Schemes refused at the start of a path even without `//` (`data:`, `javascript:`, …). */
const KNOWN_SCHEMES = /^(https?|wss?|ftp|file|data|javascript|vbscript|gopher|mailto|ldaps?|dict|jar|blob):/i;
const SCHEME_WITH_SLASH = /^[a-z][a-z0-9+.-]*:\//i;
/**
 * `user:password@` in a path's first segment — credentials in a URL. (A plain `name@example.com`
 * segment is a common API path.) Up to the first `:` and no `:` before it, so a long run of colons
 * is read once, not once per colon.
 */
const USERINFO = /^[^/@:]*:[^/@]*@/;
/** `..` also in the `..;param` form some servers (Tomcat, Spring) treat as `..`. */
const DOT_DOT = /^\.\.(;.*)?$/;

function refuse(what: string): never {
  throw new KeywayError('invalid_request',
    `Refused to forward this path: ${what}. The path after /v1/proxy/{connection} is sent below the provider's API base URL and may not leave it; send a path relative to that base.`,
    { details: { reason: 'path_escape' } });
}

/**
 * Refuses a raw `#` in the path or query. A request target cannot hold one (a fragment stays with the
 * client), and what comes after it, a credential Keyway adds to the query included, would be read
 * as a fragment by a server that parses URLs.
 *
 * @see RFC 9112 §3.2 (request target) https://www.rfc-editor.org/rfc/rfc9112#section-3.2
 */
export function refuseRawHash(raw: string, where: 'path' | 'query'): void {
  if (!raw.includes('#')) return;
  throw new KeywayError('invalid_request',
    `The ${where} holds a raw "#", which a request cannot carry: a fragment is never sent to the server. If the "#" is part of the ${where}, percent-encode it as %23.`);
}

/**
 * Refuses a forwarded path that, decoded, would leave the base URL's path through dot segments, or
 * carries a scheme, an authority (`//host`) or userinfo (`user:password@`) — as sent, and again once
 * its dot segments are removed (`/a/..//host` is `//host` to a server that removes them) — or a raw
 * `#`. Backslashes count as slashes, as some servers treat them. Nothing else is judged: the provider
 * decides what the rest means. The path is forwarded as sent either way.
 *
 * @see RFC 3986 §5.2.4 (remove dot segments) https://www.rfc-editor.org/rfc/rfc3986#section-5.2.4
 * @see RFC 3986 §3.2 (authority, userinfo) https://www.rfc-editor.org/rfc/rfc3986#section-3.2
 */
export function checkForwardPath(rawPath: string): void {
  // Most API paths hold none of the characters that can give a path structure: nothing to judge.
  if (!MAY_ESCAPE.test(rawPath) && !rawPath.startsWith('//')) return;
  refuseRawHash(rawPath, 'path');
  const decoded = rawPath.replace(STRUCTURAL, (m) => String.fromCharCode(parseInt(m.slice(1), 16))).replace(/\\/g, '/');
  checkStart(decoded, 'it');
  const normalised = withoutDotSegments(decoded);
  if (normalised !== decoded) checkStart(normalised, 'once its dot segments are removed, it');
}

/** The start of a decoded path: no authority, scheme or userinfo. */
function checkStart(decoded: string, it: string): void {
  if (decoded.startsWith('//')) refuse(`${it} starts with "//", which names another host (an authority)`);
  const rest = decoded.slice(1);
  if (SCHEME_WITH_SLASH.test(rest) || KNOWN_SCHEMES.test(rest)) refuse(`${it} starts with a URL scheme`);
  if (USERINFO.test(rest)) refuse(`${it} carries a user name and password ("user:password@")`);
}

/**
 * RFC 3986 §5.2.4 on a decoded path (the path itself when it has no dot segment), refusing a `..`
 * that climbs above its start. Empty segments do not count as depth there, as for a server that
 * merges slashes (`/a//../..` climbs).
 */
function withoutDotSegments(decoded: string): string {
  const segments = decoded.split('/');
  const out: string[] = [];
  let depth = 0;
  let dots = false;
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    if (DOT_DOT.test(segment)) {
      depth -= 1;
      if (depth < 0) refuse('its ".." segments climb above the API base URL');
      out.pop();
      dots = true;
    } else if (segment === '.' || segment.startsWith('.;')) {
      dots = true;
    } else {
      out.push(segment);
      if (segment !== '') depth += 1;
    }
  }
  return dots ? `/${out.join('/')}` : decoded;
}

/** A call without a query string: one shared empty list, not one per call. */
const NO_NAMES: readonly string[] = Object.freeze([]);
/** A segment up to its last `@` (also `%40`); userinfo when that part has a `:` (also `%3A`). Linear: no lazy part. */
const SEGMENT_TO_LAST_AT = /(^|\/)([^/]*)(?:@|%40)/gi;
const COLON = /:|%3a/i;
/** What the audit keeps of a query parameter without `=`: it is a value (`?sk_live_…`), not a name. */
const BARE_PARAMETER = '[value]';

/**
 * The path as the audit log keeps it: credentials in it (`user:password@`) masked as `[userinfo]@`,
 * and of the query only the parameter names, never a value.
 */
export function auditPath(path: string, query: string | null): { path: string; query: readonly string[] } {
  const names = query === null || query === '' ? NO_NAMES : query.split('&').slice(0, 20).map(parameterName);
  const masked = path.includes('@') || path.includes('%40') ? path.replace(SEGMENT_TO_LAST_AT, maskUserinfo) : path;
  return { path: (masked === '' ? '/' : masked).slice(0, 512), query: names };
}

function maskUserinfo(match: string, slash: string, beforeAt: string): string {
  return COLON.test(beforeAt) ? `${slash}[userinfo]@` : match;
}

function parameterName(parameter: string): string {
  const eq = parameter.indexOf('=');
  if (eq === -1) return parameter === '' ? '' : BARE_PARAMETER;
  return parameter.slice(0, Math.min(eq, 100));
}
