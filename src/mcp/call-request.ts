/**
 * call_api's arguments as an HTTP request to the gateway. Pure. The gateway judges the result
 * (path escapes, the base URL, the credential header): nothing here is a security check.
 */
import { KeywayError } from '../core/errors.ts';

export type QueryValue = string | number | boolean;

/** Headers an assistant may not set: Keyway sets them (the API key, framing), or they would make the answer unreadable. */
const DROPPED = new Set(['authorization', 'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'accept-encoding', 'expect', 'proxy-authorization']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function invalid(message: string): never {
  throw new KeywayError('invalid_request', message);
}

/** Characters a request target may not carry as they are (space, non-ASCII) are percent-encoded; `%XX` is kept. */
function encodeLoose(s: string): string {
  try {
    return s.replace(/[^\x21-\x7e]/gu, (ch) => encodeURIComponent(ch));
  } catch {
    return invalid('The path or query holds characters that are not valid text.');
  }
}

/**
 * `/v1/proxy/{connection}` + this: the path (a leading '/' added, any `#fragment` dropped) and the
 * query — what the path already carries after '?', then `query` encoded as a form would be
 * (an array value repeats the name).
 */
export function gatewayTarget(path: string, query: Record<string, QueryValue | QueryValue[]> | undefined): string {
  let p = path.trim();
  const hash = p.indexOf('#');
  if (hash !== -1) p = p.slice(0, hash);
  let existing = '';
  const q = p.indexOf('?');
  if (q !== -1) {
    existing = encodeLoose(p.slice(q + 1));
    p = p.slice(0, q);
  }
  if (p !== '' && !p.startsWith('/')) p = `/${p}`;
  p = encodeLoose(p);
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(name, String(v));
  }
  const qs = [existing, params.toString()].filter((s) => s !== '').join('&');
  return qs === '' ? p : `${p}?${qs}`;
}

/** The assistant's headers, checked; names lower-cased. */
export function requestHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(headers ?? {})) {
    const name = rawName.trim().toLowerCase();
    if (!TOKEN.test(name)) invalid(`The header name "${rawName.slice(0, 100)}" is not valid.`);
    if (/[\r\n\0]/.test(value)) invalid(`The header "${name}" has a line break in its value.`);
    if (DROPPED.has(name) || name.startsWith('keyway-')) continue;
    out[name] = value;
  }
  return out;
}

/**
 * The body: JSON, unless it is a string sent with a non-JSON `Content-Type` the assistant set
 * (a form, plain text), which goes as it is.
 */
export function requestBody(body: unknown, headers: Record<string, string>): Buffer | null {
  if (body === undefined || body === null) return null;
  const type = headers['content-type'];
  if (typeof body === 'string' && type !== undefined && !/json/i.test(type)) return Buffer.from(body, 'utf8');
  if (type === undefined) headers['content-type'] = 'application/json';
  return Buffer.from(JSON.stringify(body), 'utf8');
}
