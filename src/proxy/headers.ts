/**
 * Which headers cross the gateway. Hop-by-hop headers belong to one connection and never cross
 * (RFC 9110 §7.6.1), nor any header the `Connection` header names. Towards the provider, `Host`
 * (undici sets the provider's), the caller's `Authorization` (their Keyway API key), Keyway's own
 * cookies, every `Keyway-*` header and the header Keyway injects the credential into are dropped as well.
 *
 * @see RFC 9110 §7.6.1 https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** undici refuses `expect` (it sends no 100-continue over HTTP/1.1) and `http2-settings` is hop-by-hop. */
const REQUEST_DROP: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'host', 'authorization', 'expect', 'http2-settings']);
const RESPONSE_DROP: ReadonlySet<string> = new Set(HOP_BY_HOP);

/**
 * Extra names a `Connection` header lists besides `close` and `keep-alive` (which are dropped
 * anyway), lower case; null in the usual case of none.
 */
function listedByConnection(value: string): Set<string> | null {
  const v = value.toLowerCase();
  if (v === 'keep-alive' || v === 'close') return null; // what nearly every message says: nothing listed
  let out: Set<string> | null = null;
  for (const part of value.split(',')) {
    const n = part.trim().toLowerCase();
    if (n !== '' && n !== 'close' && n !== 'keep-alive') (out ??= new Set()).add(n);
  }
  return out;
}

/**
 * One pass over the caller's flat header list, dropping the names in `drop`, every `Keyway-*`
 * header and `alsoDrop`; a second pass only when `Connection` names other headers.
 */
function filterHeaders(raw: readonly string[], drop: ReadonlySet<string>, alsoDrop: string | null): string[] {
  const out: string[] = [];
  let listed: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    const value = raw[i + 1]!;
    if (lower === 'connection') {
      const more = listedByConnection(value);
      if (more) listed = listed ? new Set([...listed, ...more]) : more;
      continue;
    }
    if (drop.has(lower) || lower === alsoDrop || lower.startsWith('keyway-')) continue;
    if (lower === 'cookie') {
      const theirs = withoutKeywayCookies(value);
      if (theirs !== '') out.push(name, theirs);
      continue;
    }
    out.push(name, value);
  }
  if (listed === null) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!listed.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  return kept;
}

/** Keyway's own cookies (the dashboard session, the connect binding): credentials for Keyway, like the API key. */
const KEYWAY_COOKIE = /^(?:__Host-|__Secure-)?(?:keyway_|kw_ca_)/;

/**
 * A `Cookie` header without Keyway's own cookies: a browser app on Keyway's origin sends its
 * dashboard session with every call, and the provider must not get it. The rest stays as sent.
 */
function withoutKeywayCookies(value: string): string {
  if (!value.includes('keyway_') && !value.includes('kw_ca_')) return value;
  return value.split(';').filter((pair) => !KEYWAY_COOKIE.test(pair.trimStart())).map((p) => p.trim()).join('; ');
}

/**
 * The caller's headers as sent to the provider: a flat `[name, value, …]` list (Node's
 * `rawHeaders`, names as the caller wrote them, repeated headers kept). `alsoDrop` is the lower-case
 * name of the header the credential goes into, so a caller cannot send their own.
 */
export function requestHeaders(raw: readonly string[], alsoDrop: string | null): string[] {
  return filterHeaders(raw, REQUEST_DROP, alsoDrop);
}

/**
 * The provider's response headers as sent to the caller, hop-by-hop ones removed (and any the
 * `Connection` header names), repeated ones (Set-Cookie) kept as separate lines. A provider's own
 * `Keyway-*` headers are dropped too: `Keyway-Error` and `Keyway-Hint` on an answer are Keyway's
 * alone, so a caller (and the SDK) can trust them. Made from the
 * headers undici has already parsed, so the names are in lower case, as HTTP/2 writes them and as
 * HTTP/1.1 allows (RFC 9110 §5.1: names are case-insensitive): turning undici's raw buffers into
 * strings a second time, and lower-casing every name to filter it, was the gateway's largest
 * allocation per call.
 */
export function responseHeaders(parsed: Readonly<Record<string, string | string[] | undefined>>): string[] {
  const connection = parsed['connection'];
  const listed = connection === undefined ? null : listedByConnection(typeof connection === 'string' ? connection : connection.join(','));
  const out: string[] = [];
  for (const name in parsed) {
    if (RESPONSE_DROP.has(name) || (listed !== null && listed.has(name)) || name.startsWith('keyway-')) continue;
    const v = parsed[name];
    if (typeof v === 'string') out.push(name, v);
    else if (v !== undefined) for (const x of v) out.push(name, x);
  }
  return out;
}

/** First value of a header in a flat list, by lower-case name. */
export function headerValue(flat: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i]!.toLowerCase() === lowerName) return flat[i + 1];
  }
  return undefined;
}
