/**
 * Keyway's one outbound URL policy and HTTP client. Every URL Keyway calls that someone configured
 * or a provider returned (authorization-server and discovered endpoints, `jwks_uri`,
 * `instance_url`, API base URLs, webhooks) goes through an `Outbound` built here.
 *
 * - `checkUrl` when a URL is saved (no DNS), `checkResolved` to also resolve and check its host;
 * - `fetch` for every call (oauth4webapi's `customFetch` included);
 * - `dispatcher` for `undici.request`/`dispatch` (the gateway).
 *
 * See DESIGN.md "Outbound URLs".
 */
import type { Dispatcher } from 'undici';
import { createPinnedAgent, createPolicyFetch, resolveChecked, systemLookup, type LookupFn } from './client.ts';
import { buildAllowList, checkUrlSyntax, targetOf, type Policy } from './policy.ts';

export type { LookupFn, ResolvedAddress } from './client.ts';
export { MAX_REDIRECTS } from './client.ts';
export { parseAllowPrivateHosts } from './policy.ts';
export { classifyAddress, type AddressClass } from './ip-ranges.ts';

export interface OutboundOptions {
  /** `KEYWAY_DEV=1`: also allow loopback addresses (127.0.0.0/8, ::1, localhost) and http to them. Not other private ranges. */
  dev: boolean;
  /**
   * `KEYWAY_ALLOW_PRIVATE_HOSTS` (see `parseAllowPrivateHosts`): host names (`keycloak.corp`),
   * wildcards (`*.corp.example`, subdomains only) or IP literals whose private, CGNAT,
   * unique-local or loopback addresses are allowed, over https. Link-local and metadata
   * addresses stay refused.
   */
  allowPrivateHosts: string[];
  /** DNS resolver; injectable for tests. Default: `node:dns/promises` `lookup({ all: true })`. */
  lookup?: LookupFn;
  /** Per-request timeout (headers and body, across redirects) unless the caller passes a signal. Default 15000. */
  timeoutMs?: number;
}

export interface Outbound {
  /**
   * Synchronous check of a configured URL: https (http only in development mode, to loopback),
   * no user name or password, not a metadata host name, an IP-literal host must be allowed.
   * Returns the parsed URL; throws `KeywayError('outbound_url_refused')`.
   */
  checkUrl(url: string | URL, what?: string): URL;
  /** `checkUrl`, then resolve the host and require every address to be allowed. */
  checkResolved(url: string | URL, what?: string): Promise<URL>;
  /**
   * `fetch` with the global signature. Checks the URL, connects only to checked addresses (pinned:
   * no second resolution), follows up to 5 redirects itself re-checking each hop (`redirect:
   * 'manual'` and `'error'` behave as in fetch), and applies `timeoutMs` unless `init.signal` is
   * given. Refusals reject with `KeywayError('outbound_url_refused')`, DNS failures with
   * `KeywayError('provider_unavailable')`; other network failures with fetch's `TypeError`.
   */
  fetch: typeof fetch;
  /** The undici Agent with the pinned, policy-checked connector, for `undici.request`/`dispatch`. */
  dispatcher: Dispatcher;
}

const DEFAULT_TIMEOUT_MS = 15_000;

export function createOutbound(options: OutboundOptions): Outbound {
  const policy: Policy = { dev: options.dev, allowList: buildAllowList(options.allowPrivateHosts) };
  const lookup = options.lookup ?? systemLookup;
  const dispatcher = createPinnedAgent({ policy, lookup });
  const checkUrl = (url: string | URL, what = 'outbound URL'): URL => checkUrlSyntax(url, what, policy);
  return {
    checkUrl,
    async checkResolved(url, what = 'outbound URL') {
      const parsed = checkUrl(url, what);
      await resolveChecked(targetOf(parsed, what), policy, lookup);
      return parsed;
    },
    fetch: createPolicyFetch({ policy, dispatcher, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS }),
    dispatcher,
  };
}
