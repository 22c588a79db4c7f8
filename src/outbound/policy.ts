/**
 * The outbound URL policy as pure decisions: given a URL (or the scheme and host undici is about to
 * connect to) and, later, the addresses its host resolved to, allow it or throw
 * `KeywayError('outbound_url_refused')`. No I/O here; `client.ts` resolves and connects.
 *
 * Rules (DESIGN.md "Outbound URLs"): https only; private, loopback, link-local, metadata and other
 * special-purpose addresses refused; `KEYWAY_ALLOW_PRIVATE_HOSTS` names hosts whose private or
 * loopback addresses are allowed; `KEYWAY_DEV=1` also allows loopback, and http to loopback.
 */
import { KeywayError } from '../core/errors.ts';
import { classifyAddress, parseIp, type AddressClass } from './ip-ranges.ts';

export interface Policy {
  readonly dev: boolean;
  readonly allowList: AllowList;
}

export interface AllowList {
  /** Exact host names and IP literals, normalised (lower case, no brackets, no trailing dot). */
  readonly exact: ReadonlySet<string>;
  /** From `*.corp.example` entries: `corp.example`; matches any name ending in `.corp.example`. */
  readonly suffixes: readonly string[];
}

/** What is about to be called: the parts of a URL the policy looks at. */
export interface Target {
  protocol: string;
  /** Normalised host: lower case, IPv6 without brackets, no trailing dot. */
  host: string;
  /** Scheme, host and path only — never userinfo or query — for error messages. */
  shown: string;
  /** What the URL is for, e.g. "token endpoint"; starts the error message. */
  what: string;
}

/**
 * Host names of metadata services, refused by name in every mode (they resolve to link-local
 * addresses on the cloud itself). `metadata.google.internal`, `metadata.goog`, and the bare
 * `metadata` some images put in /etc/hosts.
 */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata']);

/** How each class reads in an error message. */
const LABELS: Record<AddressClass, string> = {
  public: 'a public address',
  unspecified: 'the unspecified address (this host)',
  loopback: 'a loopback address',
  private: 'a private address',
  cgnat: 'a shared (CGNAT) address',
  link_local: 'a link-local address (where cloud metadata services live)',
  metadata: 'a cloud metadata service address',
  unique_local: 'a unique-local (private) address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  documentation: 'a documentation-only address',
  benchmarking: 'a benchmarking-only address',
  protocol: 'an address reserved for IETF protocols',
  reserved: 'a reserved address',
  invalid: 'not a valid address',
};

/** Classes an allow-listed host may resolve to. Link-local, metadata and the rest: never. */
const ALLOW_LISTABLE: ReadonlySet<AddressClass> = new Set(['loopback', 'private', 'cgnat', 'unique_local']);

export function refused(target: Target, reason: string, problem: string, hint: string): KeywayError {
  const sentence = `${hint.charAt(0).toUpperCase()}${hint.slice(1)}`;
  return new KeywayError('outbound_url_refused', `Refused ${target.what} ${target.shown}: ${problem}. ${sentence}.`, {
    details: { reason },
  });
}

/** Lower case, IPv6 brackets and a trailing root dot removed: the form the allow-list compares. */
export function normaliseHost(hostname: string): string {
  let h = hostname.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** Scheme, host (with port) and path: the only parts of a URL an error message may show. */
export function showUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export function targetOf(url: URL, what: string): Target {
  return { protocol: url.protocol, host: normaliseHost(url.hostname), shown: showUrl(url), what };
}

export function isAllowListed(host: string, allowList: AllowList): boolean {
  return allowList.exact.has(host) || allowList.suffixes.some((s) => host.endsWith(`.${s}`));
}

/**
 * Parses `KEYWAY_ALLOW_PRIVATE_HOSTS` (comma separated) into entries `buildAllowList` accepts.
 */
export function parseAllowPrivateHosts(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * Validates and normalises allow-list entries: host names (`keycloak.corp`), wildcards for
 * subdomains (`*.corp.example`, which does not match `corp.example` itself) and IP literals.
 */
export function buildAllowList(entries: readonly string[]): AllowList {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const wildcard = entry.startsWith('*.');
    const name = wildcard ? entry.slice(2) : entry;
    const host = parseHostEntry(name);
    if (host === undefined || (wildcard && parseIp(host) !== undefined)) {
      throw new KeywayError(
        'invalid_request',
        `KEYWAY_ALLOW_PRIVATE_HOSTS entry "${entry}" is not a host name, "*.domain" wildcard or IP address; list hosts without scheme, port or path.`,
      );
    }
    if (wildcard) suffixes.push(host);
    else exact.add(host);
  }
  return { exact, suffixes };
}

function parseHostEntry(name: string): string | undefined {
  const bare = name.startsWith('[') ? name : name.includes(':') ? `[${name}]` : name;
  if (/[/?#@*\s]/.test(name) || bare === '') return undefined;
  try {
    const url = new URL(`https://${bare}`);
    if (url.port !== '' || url.pathname !== '/') return undefined;
    return normaliseHost(url.hostname);
  } catch {
    return undefined; // reported by the caller with the entry itself
  }
}

function allowHint(host: string): string {
  return `set KEYWAY_ALLOW_PRIVATE_HOSTS=${host} to allow an in-house server`;
}

/**
 * Checks the scheme and host of a target before any DNS: the scheme, metadata host names,
 * `localhost` names, and IP-literal hosts. Host names are checked again, by address, once resolved.
 */
export function checkTarget(target: Target, policy: Policy): void {
  const { protocol, host } = target;
  if (protocol !== 'https:' && protocol !== 'http:') {
    throw refused(target, 'scheme', `the ${protocol} scheme is not allowed`, 'Use an https URL');
  }
  if (protocol === 'http:' && !policy.dev) {
    throw refused(
      target,
      'scheme',
      'plain http is not allowed',
      'Use https (http is allowed only to loopback addresses in development mode, KEYWAY_DEV=1)',
    );
  }
  if (METADATA_HOSTS.has(host)) {
    throw refused(target, 'metadata', `${host} is a cloud metadata service`, 'Keyway never calls metadata services');
  }
  if (parseIp(host) !== undefined) {
    checkAddress(target, host, policy);
  } else if ((host === 'localhost' || host.endsWith('.localhost')) && !policy.dev && !isAllowListed(host, policy.allowList)) {
    // RFC 6761 §6.3: these names always resolve to loopback.
    throw refused(target, 'loopback', `${host} is a loopback name`, `Set KEYWAY_DEV=1 for local development, or ${allowHint(host)}`);
  }
}

/**
 * Decides one address the target's host is (or resolved to). `address` is an IP literal.
 */
export function checkAddress(target: Target, address: string, policy: Policy): void {
  const cls = classifyAddress(address);
  const listed = isAllowListed(target.host, policy.allowList);
  const where = parseIp(target.host) !== undefined ? `${target.host} is` : `${target.host} resolves to`;
  const problem = `${where} ${LABELS[cls]}`;
  const allowed = cls === 'public' || (cls === 'loopback' && policy.dev) || (ALLOW_LISTABLE.has(cls) && listed);
  if (!allowed) {
    const hint =
      cls === 'loopback'
        ? `Set KEYWAY_DEV=1 for local development, or ${allowHint(target.host)}`
        : ALLOW_LISTABLE.has(cls)
          // Both steps at once: listed, plain http to such an address would be refused next.
          ? (target.protocol === 'http:' ? `Use https, and ${allowHint(target.host)}` : allowHint(target.host))
          : 'Keyway never calls such addresses; use a public https URL';
    throw refused(target, cls, problem, hint);
  }
  if (target.protocol === 'http:' && cls !== 'loopback') {
    throw refused(target, 'scheme', `plain http to ${LABELS[cls]} is not allowed`, 'Use https (http is allowed only to loopback addresses in development mode)');
  }
}

/** Every address must pass: a name with one private address among public ones is refused. */
export function checkAddresses(target: Target, addresses: ReadonlyArray<{ address: string }>, policy: Policy): void {
  for (const { address } of addresses) checkAddress(target, address, policy);
}

/**
 * Synchronous check of a configured URL: parses it, refuses userinfo, then `checkTarget`.
 * Host names still need `checkAddresses` once resolved.
 */
export function checkUrlSyntax(input: string | URL, what: string, policy: Policy): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch (cause) {
    // The input itself may hold a secret; do not echo it.
    throw new KeywayError('outbound_url_refused', `Refused ${what}: it is not a valid absolute URL. Give a full https:// URL.`, {
      cause,
      details: { reason: 'invalid_url' },
    });
  }
  const target = targetOf(url, what);
  if (url.username !== '' || url.password !== '') {
    throw refused(target, 'userinfo', 'URLs with a user name or password are not allowed', 'Remove the user:password@ part and configure credentials separately');
  }
  checkTarget(target, policy);
  return url;
}
