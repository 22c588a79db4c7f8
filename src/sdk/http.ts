import { KeywayApiError, KeywayUnreachableError } from './errors.ts';

/** What the SDK needs to reach Keyway. */
export interface KeywayOptions {
  /** Keyway's address, as `KEYWAY_PUBLIC_URL` gives it: `https://keyway.example.com` or `http://127.0.0.1:3030`. */
  url: string;
  /** An API key (`kw_…`): `keyway keys create`, the dashboard's API keys page, or `POST /v1/api-keys`. */
  apiKey: string;
  /** The fetch to call Keyway with (default: the global one). */
  fetch?: typeof fetch;
}

/** Query values as the API takes them; undefined ones are left out. */
export type Query = Record<string, string | number | undefined>;

/** What every SDK method takes besides its input: a signal to abort it. */
export interface Signal {
  signal?: AbortSignal;
}

export interface CallOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal | undefined;
}

const KEY_SHAPE = /^\S+$/;

/** `options.url` as a base without a trailing slash; a clear error when it is not an http(s) URL. */
function baseUrl(raw: unknown): string {
  let u: URL;
  try {
    u = new URL(String(raw));
  } catch {
    throw new TypeError(`Keyway SDK: url must be Keyway's address, like "http://127.0.0.1:3030"; got ${JSON.stringify(String(raw))}.`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`Keyway SDK: url must be http or https; got "${u.protocol}".`);
  if (u.username || u.password) throw new TypeError('Keyway SDK: url must not carry a user name or password; give the API key as apiKey.');
  if (u.search || u.hash) throw new TypeError('Keyway SDK: url must be Keyway\'s address without a query or fragment.');
  return u.href.replace(/\/+$/, '');
}

/** Seconds from a `Retry-After` header given in seconds; null when absent or a date. */
function retryAfterOf(res: Response): number | null {
  const v = res.headers.get('retry-after');
  return v !== null && /^\d+$/.test(v.trim()) ? Number(v.trim()) : null;
}

/**
 * The error Keyway answered, from its `{error: {code, message, …}}` body and `Keyway-Error` header.
 * Reads the body; call only for an answer that is Keyway's own error.
 */
export async function apiErrorOf(res: Response): Promise<KeywayApiError> {
  const text = await res.text().catch(() => '');
  let err: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (parsed.error !== null && typeof parsed.error === 'object') err = parsed.error as Record<string, unknown>;
  } catch { /* not JSON: described by its status below */ }
  const { code, message, ...details } = err;
  const codeText = typeof code === 'string' ? code : res.headers.get('keyway-error') ?? `http_${res.status}`;
  const messageText = typeof message === 'string' ? message : `Keyway answered ${res.status} ${res.statusText}`.trim();
  return new KeywayApiError(res.status, codeText, messageText, retryAfterOf(res), details);
}

/**
 * How the SDK talks to Keyway: the key on every request (kept in a private field, so it is not in
 * `console.log(keyway)` or JSON), JSON both ways, errors as `KeywayApiError` or `KeywayUnreachableError`.
 */
export class Transport {
  readonly url: string;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch;

  constructor(options: KeywayOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('Keyway SDK: give { url, apiKey }.');
    this.url = baseUrl(options.url);
    if (typeof options.apiKey !== 'string' || !KEY_SHAPE.test(options.apiKey)) {
      throw new TypeError('Keyway SDK: apiKey must be an API key (kw_…) without spaces. Create one with `npx keyway keys create --name NAME`.');
    }
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** The `Authorization` header's value. */
  authorization(): string {
    return `Bearer ${this.#apiKey}`;
  }

  /** Sends a request as given (the gateway's answers are returned as they are); unreachable → `KeywayUnreachableError`. */
  async send(request: Request): Promise<Response> {
    try {
      return await this.#fetch(request);
    } catch (e) {
      if (request.signal.aborted) throw e; // the caller's own abort, as fetch reports it
      throw new KeywayUnreachableError(this.url, e);
    }
  }

  /** A call to Keyway's JSON API; its answer, or undefined for 204. Throws `KeywayApiError` on a refusal. */
  async call<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
    const url = new URL(`${this.url}${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { authorization: this.authorization(), accept: 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.send(new Request(url, {
      method, headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    }));
    if (!res.ok) throw await apiErrorOf(res);
    if (res.status === 204) {
      await res.body?.cancel();
      return undefined as T;
    }
    return (await res.json()) as T;
  }
}

/** An id as one path segment. */
export function seg(id: string): string {
  if (typeof id !== 'string' || id === '') throw new TypeError('Keyway SDK: an id must be a non-empty string.');
  return encodeURIComponent(id);
}
