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
}

export interface ConfigFlags {
  port?: string | undefined;
  host?: string | undefined;
  dataDir?: string | undefined;
  dev?: boolean | undefined;
}

function truthy(v: string | undefined): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  return ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());
}

function port(v: string, from: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new KeywayError('invalid_request', `${from} must be a port number 0–65535, got "${v}".`);
  return n;
}

function positiveMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new KeywayError('invalid_request', `${name} must be a whole number of milliseconds above 0, got "${v}".`);
  return n;
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
  const providerTimeoutMs = positiveMs(env, 'KEYWAY_PROVIDER_TIMEOUT_MS', 15_000);
  const refreshLeaseMs = positiveMs(env, 'KEYWAY_REFRESH_LEASE_MS', Math.max(30_000, providerTimeoutMs * 2));
  if (refreshLeaseMs <= providerTimeoutMs) {
    throw new KeywayError('invalid_request', `KEYWAY_REFRESH_LEASE_MS (${refreshLeaseMs}) must be longer than KEYWAY_PROVIDER_TIMEOUT_MS (${providerTimeoutMs}), or a slow provider call could outlive the refresh lock.`);
  }
  return {
    host, port: p, dev, publicUrl,
    dataDir: flags.dataDir ?? env['KEYWAY_DATA_DIR'] ?? './.keyway',
    databaseUrl: env['KEYWAY_DATABASE_URL'] ?? null,
    allowPrivateHosts: (env['KEYWAY_ALLOW_PRIVATE_HOSTS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    refreshAheadMs: aheadSec ? Number(aheadSec) * 1000 : 5 * 60_000,
    sandbox: truthy(env['KEYWAY_SANDBOX']) ?? dev,
    logLevel: env['KEYWAY_LOG_LEVEL'] ?? 'info',
    providerTimeoutMs, refreshLeaseMs,
  };
}
