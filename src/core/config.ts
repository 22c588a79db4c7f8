import { KeywayError } from './errors.ts';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** Development mode: http on loopback allowed for outbound calls; said loudly at start-up. */
  dev: boolean;
  /** What redirect URIs and connect links are built from. Default: the listening address. */
  publicUrl: string;
  databaseUrl: string | null;
  allowPrivateHosts: string[];
  refreshAheadMs: number;
  /** Mount the sandbox authorization server (on by default in development mode). */
  sandbox: boolean;
  logLevel: string;
  /** Timeout of each call to a provider (token endpoint, revocation…). */
  providerTimeoutMs: number;
  /**
   * How long a refresh lease lasts; a process that dies holding it is taken over after this. Always
   * longer than the provider timeout, so a holder never outlives its lease mid-call.
   */
  refreshLeaseMs: number;
  /**
   * How long a call through the gateway waits for the provider to start answering, and how long its
   * answer may stall between two chunks (default 120 s). Past it the caller gets a 503, or a cut
   * connection when the answer had started.
   */
  gatewayTimeoutMs: number;
  /** Requests per minute an API key may make unless the key sets its own; 0 means no limit. */
  rateLimitPerMinute: number;
  /** Refresh connections in the background before they expire, and touch idle ones (default on). */
  backgroundRefresh: boolean;
  /** Audit entries older than this many days are pruned in the background (default 365). */
  auditRetentionDays: number;
  /** Audit entries are stored by a thread of their own, off the one answering requests (default on). */
  auditThread: boolean;
  /**
   * Token reads by one key (or person) of one connection within this many milliseconds of the
   * first are stored as one audit entry with their count and times (default 1000; 0: an entry each).
   */
  auditGroupMs: number;
  /** Background refreshes running at once in this process (default 8). */
  refreshConcurrency: number;
  /** Background refreshes per second to one provider from this process (default 50). */
  refreshProviderRate: number;
  /** Single sign-on for people (KEYWAY_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET); null when not configured. */
  oidc: OidcSignInConfig | null;
}

/** The OpenID Connect identity provider people sign in with. Its redirect URI is `{publicUrl}/auth/callback`. */
export interface OidcSignInConfig {
  issuer: string;
  clientId: string;
  /** Null for a public client (PKCE only). */
  clientSecret: string | null;
  /**
   * Pushed authorization requests (RFC 9126, KEYWAY_OIDC_PAR): true always, false never, null when
   * the provider's metadata requires them (a requirement set per client is not in the metadata).
   */
  pushedAuthorization: boolean | null;
}

function oidcConfig(env: NodeJS.ProcessEnv): OidcSignInConfig | null {
  const issuer = env['KEYWAY_OIDC_ISSUER']?.trim() || undefined;
  const clientId = env['KEYWAY_OIDC_CLIENT_ID']?.trim() || undefined;
  const clientSecret = env['KEYWAY_OIDC_CLIENT_SECRET'] || null;
  if (!issuer && !clientId) return null;
  if (!issuer || !clientId) {
    throw new KeywayError('invalid_request', 'Single sign-on needs both KEYWAY_OIDC_ISSUER and KEYWAY_OIDC_CLIENT_ID (and KEYWAY_OIDC_CLIENT_SECRET for a confidential client); set both or neither.');
  }
  try {
    new URL(issuer);
  } catch {
    throw new KeywayError('invalid_request', `KEYWAY_OIDC_ISSUER must be the identity provider's issuer URL, such as https://login.example.com, got "${issuer}".`);
  }
  const par = env['KEYWAY_OIDC_PAR']?.trim();
  const pushedAuthorization = par === undefined || par === '' ? null : ON.includes(par.toLowerCase()) ? true : OFF.includes(par.toLowerCase()) ? false : undefined;
  if (pushedAuthorization === undefined) {
    throw new KeywayError('invalid_request', `KEYWAY_OIDC_PAR must be 1 (push every sign-in's authorization request, RFC 9126) or 0 (never); leave it unset to push only when the identity provider requires it. Got "${par}".`);
  }
  // The issuer exactly as the provider names itself (Auth0's ends in /).
  return { issuer, clientId, clientSecret, pushedAuthorization };
}

export interface ConfigFlags {
  port?: string | undefined;
  host?: string | undefined;
  dataDir?: string | undefined;
  dev?: boolean | undefined;
}

const ON = ['1', 'true', 'yes', 'on'];
const OFF = ['0', 'false', 'no', 'off'];

function truthy(v: string | undefined): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  return ON.includes(v.toLowerCase());
}

function port(v: string, from: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new KeywayError('invalid_request', `${from} must be a port number 0–65535, got "${v}".`);
  return n;
}

function seconds(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new KeywayError('invalid_request', `${name} must be a number of seconds (0 or more), got "${v}".`);
  return n;
}

/** A whole number from the environment within [min, max]; `fallback` when unset. */
function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `above ${min - 1}` : `from ${min} to ${max}`;
    throw new KeywayError('invalid_request', `${name} must be a whole number ${range}, got "${v}".`);
  }
  return n;
}

/** pino's levels: KEYWAY_LOG_LEVEL must be one of them. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(env: NodeJS.ProcessEnv): string {
  const v = env['KEYWAY_LOG_LEVEL']?.trim().toLowerCase() || 'info';
  if (!LOG_LEVELS.includes(v)) {
    throw new KeywayError('invalid_request', `KEYWAY_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (default info), got "${env['KEYWAY_LOG_LEVEL']}".`);
  }
  return v;
}

/** Per API key, unless the key has its own limit (`rateLimitPerMinute`). */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 6000;

/** Flags override the environment; the environment overrides defaults. */
export function loadConfig(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}): Config {
  const host = flags.host ?? env['KEYWAY_HOST'] ?? '127.0.0.1';
  const p = flags.port !== undefined ? port(flags.port, '--port') : env['KEYWAY_PORT'] ? port(env['KEYWAY_PORT'], 'KEYWAY_PORT') : 3030;
  const dev = flags.dev ?? truthy(env['KEYWAY_DEV']) ?? false;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const publicUrl = (env['KEYWAY_PUBLIC_URL'] ?? `http://${urlHost}:${p}`).replace(/\/+$/, '');
  try {
    new URL(publicUrl);
  } catch {
    throw new KeywayError('invalid_request', `KEYWAY_PUBLIC_URL must be an absolute URL such as https://keyway.example.com, got "${publicUrl}".`);
  }
  const aheadSec = env['KEYWAY_REFRESH_AHEAD_SECONDS'];
  const rate = env['KEYWAY_RATE_LIMIT_PER_MINUTE'];
  const rateLimitPerMinute = rate === undefined || rate === '' ? DEFAULT_RATE_LIMIT_PER_MINUTE : Number(rate);
  if (!Number.isInteger(rateLimitPerMinute) || rateLimitPerMinute < 0) {
    throw new KeywayError('invalid_request', `KEYWAY_RATE_LIMIT_PER_MINUTE must be a whole number of requests per minute (0 for no limit), got "${rate}".`);
  }
  const providerTimeoutMs = wholeNumber(env, 'KEYWAY_PROVIDER_TIMEOUT_MS', 15_000);
  const refreshLeaseMs = wholeNumber(env, 'KEYWAY_REFRESH_LEASE_MS', Math.max(30_000, providerTimeoutMs * 2));
  if (refreshLeaseMs <= providerTimeoutMs) {
    throw new KeywayError('invalid_request', `KEYWAY_REFRESH_LEASE_MS (${refreshLeaseMs}) must be longer than KEYWAY_PROVIDER_TIMEOUT_MS (${providerTimeoutMs}), or a slow provider call could outlive the refresh lock.`);
  }
  return {
    host, port: p, dev, publicUrl,
    dataDir: flags.dataDir ?? env['KEYWAY_DATA_DIR'] ?? './.keyway',
    databaseUrl: env['KEYWAY_DATABASE_URL'] ?? null,
    allowPrivateHosts: (env['KEYWAY_ALLOW_PRIVATE_HOSTS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    refreshAheadMs: aheadSec ? seconds(aheadSec, 'KEYWAY_REFRESH_AHEAD_SECONDS') * 1000 : 5 * 60_000,
    sandbox: truthy(env['KEYWAY_SANDBOX']) ?? dev,
    logLevel: logLevel(env),
    providerTimeoutMs, refreshLeaseMs,
    gatewayTimeoutMs: wholeNumber(env, 'KEYWAY_GATEWAY_TIMEOUT_MS', 120_000, 1, 3_600_000),
    backgroundRefresh: truthy(env['KEYWAY_BACKGROUND_REFRESH']) ?? true,
    auditRetentionDays: wholeNumber(env, 'KEYWAY_AUDIT_RETENTION_DAYS', 365),
    auditThread: truthy(env['KEYWAY_AUDIT_THREAD']) ?? true,
    auditGroupMs: wholeNumber(env, 'KEYWAY_AUDIT_GROUP_MS', 1000, 0, 60_000),
    refreshConcurrency: wholeNumber(env, 'KEYWAY_REFRESH_CONCURRENCY', 8),
    refreshProviderRate: wholeNumber(env, 'KEYWAY_REFRESH_PROVIDER_RATE', 50),
    rateLimitPerMinute,
    oidc: oidcConfig(env),
  };
}
