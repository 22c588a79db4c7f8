/** What bench/run.ts and bench/ab.ts share: how Keyway is started, and the integration and key they call it with. */
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/** As README recommends running Keyway (see docs/performance.md, memory). */
const KEYWAY_NODE_FLAGS = ['--min-semi-space-size=8', '--max-semi-space-size=8', '--initial-old-space-size=64'];

/** What `keyway serve` prints once it listens; the group is its port. */
export const KEYWAY_READY = /listening on http:\/\/127\.0\.0\.1:(\d+)/;

/** `node` arguments for `keyway serve` on a free port; `checkout` is the project folder whose sources run (this one by default). */
export function keywayServeArgs(dataDir: string, extraFlags: string[] = [], checkout = root): string[] {
  return [...KEYWAY_NODE_FLAGS, ...extraFlags, join(checkout, 'src', 'cli', 'main.ts'), 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--dev'];
}

/** The environment the bench runs Keyway with: no sandbox, quiet logs. */
export function keywayEnv(logLevel: string): Record<string, string> {
  return { KEYWAY_SANDBOX: '0', KEYWAY_LOG_LEVEL: logLevel, KEYWAY_DEV: '1' };
}

async function api(origin: string, key: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${origin}${path}`, {
    method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : null,
  });
  const json = await res.json() as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * On a Keyway that has just made its organization (the bootstrap admin key `admin`): a custom
 * integration whose API is the upstream, and an API key with no rate limit that may read tokens.
 */
export async function benchIntegration(kwOrigin: string, admin: string, upstreamOrigin: string): Promise<{ integrationId: string; key: string }> {
  const integration = await api(kwOrigin, admin, 'POST', '/v1/integrations', {
    provider: 'custom', name: 'Bench API', clientId: 'bench', clientSecret: 'bench-secret',
    authorizationUrl: 'http://127.0.0.1:9/authorize', tokenUrl: 'http://127.0.0.1:9/token', apiBaseUrl: `${upstreamOrigin}/v1`,
  });
  const key = String((await api(kwOrigin, admin, 'POST', '/v1/api-keys', { name: 'bench', scope: { tokenRead: true }, rateLimitPerMinute: 0 }))['key']);
  return { integrationId: String(integration['id']), key };
}
