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
  return {
    host, port: p, dev, publicUrl,
    dataDir: flags.dataDir ?? env['KEYWAY_DATA_DIR'] ?? './.keyway',
    databaseUrl: env['KEYWAY_DATABASE_URL'] ?? null,
    allowPrivateHosts: (env['KEYWAY_ALLOW_PRIVATE_HOSTS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    refreshAheadMs: aheadSec ? Number(aheadSec) * 1000 : 5 * 60_000,
    sandbox: truthy(env['KEYWAY_SANDBOX']) ?? dev,
    logLevel: env['KEYWAY_LOG_LEVEL'] ?? 'info',
  };
}
