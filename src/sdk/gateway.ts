import { type Transport, apiErrorOf, seg } from './http.ts';

/** `fetch`'s options plus a query to add and, for providers with several API base URLs, which one. */
export interface ProxyInit extends RequestInit {
  /** Added to the path's query string (undefined values left out). */
  query?: Record<string, string | number | boolean | undefined>;
  /** One of the provider's declared API base URLs, sent as `Keyway-Base-Url` (default: the first). */
  baseUrl?: string;
  /** Needed by fetch for a streamed body; the SDK sets it for you. */
  duplex?: 'half';
}

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** A path segment the URL parser would resolve (`.`, `..`, `%2e%2e`, …), moving the call out of the connection's base. */
function isDotSegment(segment: string): boolean {
  const s = segment.toLowerCase().replaceAll('%2e', '.');
  return s === '.' || s === '..';
}

/**
 * The path as the gateway will receive it: relative to the integration's API base URL, encoded
 * characters untouched (GitLab needs `%2F`). A URL, or a path the URL parser would rewrite before
 * it is sent (dot segments, backslashes), is refused here with what to do instead.
 */
export function gatewayPath(path: string): string {
  if (typeof path !== 'string') throw new TypeError('Keyway SDK: the path must be a string, like "user/repos".');
  if (SCHEME.test(path) || path.startsWith('//')) {
    throw new TypeError('Keyway SDK: give the path under the integration\'s API base URL (like "user/repos"), not a URL: the gateway calls only the provider\'s declared API.');
  }
  if (path.includes('\\')) throw new TypeError('Keyway SDK: a backslash in the path would be read as "/"; send it encoded, as %5C.');
  const pathOnly = path.split(/[?#]/, 1)[0] ?? '';
  if (pathOnly.split('/').some(isDotSegment)) {
    throw new TypeError('Keyway SDK: the path must not hold "." or ".." segments: a call stays under the connection\'s API base URL.');
  }
  return path.startsWith('/') ? path.slice(1) : path;
}

function withQuery(url: string, query: ProxyInit['query']): string {
  if (query === undefined) return url;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.append(k, String(v));
  const s = qs.toString();
  if (s === '') return url;
  return `${url}${url.includes('?') ? '&' : '?'}${s}`;
}

/** A streamed body needs `duplex: 'half'` in fetch; set it so callers need not know. */
function withDuplex(init: RequestInit | undefined): RequestInit | undefined {
  const body = init?.body;
  if (body === undefined || body === null || typeof body === 'string' || body instanceof ArrayBuffer || ArrayBuffer.isView(body)
    || body instanceof Blob || body instanceof FormData || body instanceof URLSearchParams) return init;
  return { ...init, duplex: 'half' } as RequestInit;
}

/**
 * Calls through `/v1/proxy/{connection}/{path}`: the provider's answer comes back as it is (a
 * `Response` to stream, status and headers untouched, advice in `Keyway-Hint`); Keyway's own
 * refusals (unknown key, connection not found, needs re-auth, rate limit, provider unreachable)
 * throw `KeywayApiError`. The provider's credential never reaches the caller.
 */
export class Gateway {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** `{url}/v1/proxy/{connection}/`: the base URL to give a provider's own SDK with `fetch()`. */
  url(connection: string): string {
    return `${this.#t.url}/v1/proxy/${seg(connection)}/`;
  }

  /** One call: `path` under the integration's API base, `init` as fetch takes it. */
  async call(connection: string, path: string, init: ProxyInit = {}): Promise<Response> {
    const { query, baseUrl, ...rest } = init;
    const headers = new Headers(rest.headers);
    headers.set('authorization', this.#t.authorization());
    if (baseUrl !== undefined) headers.set('keyway-base-url', baseUrl);
    const url = withQuery(this.url(connection) + gatewayPath(path), query);
    return this.#answer(await this.#t.send(new Request(url, { ...withDuplex(rest), headers })));
  }

  /**
   * A `fetch` for a provider's own SDK, given `url(connection)` as its base URL: it adds the API key
   * and calls only this Keyway's gateway (any other URL is refused, so the key never goes elsewhere).
   * Redirects are followed as fetch does; fetch drops `Authorization` on a redirect to another origin.
   */
  fetch(): typeof fetch {
    const prefix = `${this.#t.url}/v1/proxy/`;
    return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const req = new Request(input, withDuplex(init));
      if (!req.url.startsWith(prefix)) {
        throw new TypeError(`Keyway SDK: this fetch calls only Keyway's gateway (${prefix}…), not ${new URL(req.url).origin}. Give the provider's SDK keyway.gateway.url(connection) as its base URL.`);
      }
      const headers = new Headers(req.headers);
      headers.set('authorization', this.#t.authorization());
      return this.#answer(await this.#t.send(new Request(req, { headers })));
    };
  }

  async #answer(res: Response): Promise<Response> {
    // Keyway drops a provider's own Keyway-* headers, so this one is Keyway's refusal, not the provider's answer.
    if (res.headers.has('keyway-error')) throw await apiErrorOf(res);
    return res;
  }
}
