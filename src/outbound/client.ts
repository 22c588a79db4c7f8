/**
 * The network half of the outbound policy: resolve a host once, check every address, and connect
 * to the checked address (DNS pinning), plus a `fetch` that follows redirects itself so every hop
 * is checked again. The decisions live in `policy.ts`.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { Agent, buildConnector, fetch as undiciFetch, type Dispatcher, type RequestInit as UndiciRequestInit } from 'undici';
import { KeywayError, isKeywayError } from '../core/errors.ts';
import { parseIp } from './ip-ranges.ts';
import { checkAddresses, checkTarget, checkUrlSyntax, normaliseHost, refused, showUrl, targetOf, type Policy, type Target } from './policy.ts';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type LookupFn = (hostname: string) => Promise<ResolvedAddress[]>;

/** Follow at most this many redirects (the fetch standard allows 20; we need few). */
export const MAX_REDIRECTS = 5;

/** The system resolver (`getaddrinfo`, so /etc/hosts counts), every address, in resolver order. */
export const systemLookup: LookupFn = async (hostname) => {
  const results = await dnsLookup(hostname, { all: true, order: 'verbatim' });
  return results.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));
};

/**
 * Resolves `target.host` once and checks every address; returns the addresses to connect to.
 * IP-literal hosts are checked as they are, without DNS.
 */
export async function resolveChecked(target: Target, policy: Policy, lookup: LookupFn): Promise<ResolvedAddress[]> {
  const ip = parseIp(target.host);
  if (ip) {
    checkAddresses(target, [{ address: target.host }], policy);
    return [{ address: target.host, family: ip.family }];
  }
  let addresses: ResolvedAddress[];
  try {
    addresses = await lookup(target.host);
  } catch (cause) {
    throw new KeywayError('provider_unavailable', `Could not resolve ${target.host} for ${target.what} ${target.shown}. Check the host name and DNS.`, { cause });
  }
  if (addresses.length === 0) {
    throw new KeywayError('provider_unavailable', `${target.host} has no addresses (${target.what} ${target.shown}). Check the host name and DNS.`);
  }
  checkAddresses(target, addresses, policy);
  return addresses;
}

export interface PinnedAgentOptions {
  policy: Policy;
  lookup: LookupFn;
  /** Extra socket/TLS options for undici's connector (e.g. `ca` in tests); never `lookup`. */
  connect?: buildConnector.BuildOptions;
}

/**
 * An undici Agent whose connector checks the scheme and host, resolves the host once, checks every
 * address, and opens the socket to a checked address (trying them in order). undici still sends
 * the host name in `Host` and as TLS SNI, and the certificate is verified against the name, because
 * only `hostname` (the socket address) is replaced. A refusal fails the request with the
 * `KeywayError` before any socket is opened. Pooled connections were checked when they opened.
 */
export function createPinnedAgent(options: PinnedAgentOptions): Agent {
  const { policy, lookup } = options;
  const base = buildConnector({ ...options.connect });
  const connect: buildConnector.connector = (opts, callback) => {
    const target: Target = {
      protocol: opts.protocol,
      host: normaliseHost(opts.hostname),
      shown: `${opts.protocol}//${opts.host ?? opts.hostname}`,
      what: 'outbound request',
    };
    Promise.resolve()
      .then(() => {
        checkTarget(target, policy);
        return resolveChecked(target, policy, lookup);
      })
      .then(
        (addresses) => connectInTurn(base, opts, addresses, 0, callback),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
      );
  };
  return new Agent({ connect });
}

function connectInTurn(
  base: buildConnector.connector,
  opts: buildConnector.Options,
  addresses: ResolvedAddress[],
  index: number,
  callback: buildConnector.Callback,
): void {
  const address = addresses[index]?.address ?? '';
  try {
    base({ ...opts, hostname: address }, (...args) => {
      if (args[0] !== null && index + 1 < addresses.length) connectInTurn(base, opts, addresses, index + 1, callback);
      else callback(...args);
    });
  } catch (err) {
    callback(err instanceof Error ? err : new Error(String(err)), null);
  }
}

export interface PolicyFetchOptions {
  policy: Policy;
  dispatcher: Dispatcher;
  timeoutMs: number;
}

interface Outgoing {
  url: URL;
  method: string;
  headers: Headers;
  body: BodyInit | null;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const STANDARD_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
/** Fetch standard "request-body-header names", dropped when a redirect turns the request into GET. */
const BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type', 'content-length'];
/** Dropped on a cross-origin redirect, as browsers and undici do. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];

/**
 * A `fetch` that checks the URL, connects through the pinned agent, and follows redirects itself.
 * Policy refusals (and DNS failures) reject with the `KeywayError`, not fetch's `TypeError`.
 *
 * @see Fetch Standard §4.4 HTTP-redirect fetch https://fetch.spec.whatwg.org/#http-redirect-fetch
 */
export function createPolicyFetch(options: PolicyFetchOptions): typeof fetch {
  const { policy, dispatcher, timeoutMs } = options;
  const policyFetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const request = typeof input === 'string' || input instanceof URL ? undefined : input;
    const method = init.method ?? request?.method ?? 'GET';
    let current: Outgoing = {
      url: checkUrlSyntax(request ? request.url : input as string | URL, 'outbound request', policy),
      method: STANDARD_METHODS.has(method.toUpperCase()) ? method.toUpperCase() : method,
      headers: new Headers(init.headers ?? request?.headers),
      body: init.body !== undefined ? init.body : (request?.body ?? null),
    };
    const redirect = init.redirect ?? request?.redirect ?? 'follow';
    const signal = init.signal ?? timeoutSignal(timeoutMs, request?.signal);
    const send = (o: Outgoing, mode: RequestRedirect): Promise<Response> =>
      sendOnce(o, { ...init, redirect: mode, signal }, dispatcher);
    if (redirect !== 'follow') return send(current, redirect);
    for (let followed = 0; ; followed++) {
      const response = await send(current, 'manual');
      const location = response.headers.get('location');
      if (!REDIRECT_STATUSES.has(response.status) || location === null) return response;
      await response.body?.cancel();
      if (followed === MAX_REDIRECTS) {
        throw refused(targetOf(current.url, 'outbound request'), 'too_many_redirects', `it redirected more than ${MAX_REDIRECTS} times`, 'Call the final URL directly');
      }
      current = nextHop(current, response.status, location, policy);
    }
  };
  return policyFetch as typeof fetch;
}

function timeoutSignal(timeoutMs: number, requestSignal: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return requestSignal ? AbortSignal.any([requestSignal, timeout]) : timeout;
}

async function sendOnce(o: Outgoing, init: RequestInit, dispatcher: Dispatcher): Promise<Response> {
  const body = o.body;
  const undiciInit = {
    ...init,
    method: o.method,
    headers: o.headers,
    body,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    dispatcher,
  } as unknown as UndiciRequestInit;
  try {
    return (await undiciFetch(o.url, undiciInit)) as unknown as Response;
  } catch (err) {
    // undici reports connector failures as TypeError('fetch failed', { cause }).
    if (err instanceof TypeError && isKeywayError(err.cause)) throw err.cause;
    throw err;
  }
}

/** The request for the next hop of a redirect, checked by the policy like the first. */
function nextHop(previous: Outgoing, status: number, location: string, policy: Policy): Outgoing {
  const what = `redirect from ${showUrl(previous.url)} to`;
  let next: URL;
  try {
    next = new URL(location, previous.url);
  } catch (cause) {
    throw new KeywayError('outbound_url_refused', `Refused ${what} an invalid Location. The server's redirect is broken.`, {
      cause,
      details: { reason: 'invalid_url' },
    });
  }
  const url = checkUrlSyntax(next, what, policy);
  const headers = new Headers(previous.headers);
  let { method, body } = previous;
  if ((status === 303 && method !== 'GET' && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
    method = 'GET';
    body = null;
    for (const name of BODY_HEADERS) headers.delete(name);
  } else if (body instanceof ReadableStream) {
    throw new TypeError(`Cannot follow a ${status} redirect with a streamed request body; call ${showUrl(url)} directly.`);
  }
  if (url.origin !== previous.url.origin) {
    for (const name of CREDENTIAL_HEADERS) headers.delete(name);
  }
  return { url, method, headers, body };
}
