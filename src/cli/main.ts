import { resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { loadConfig } from '../core/config.ts';
import { systemClock } from '../core/index.ts';
import { openStoreFor } from '../store/index.ts';
import { startKeyway } from '../http/server.ts';
import { parseArgs } from './args.ts';
import { keysCommand } from './keys.ts';

export const HELP = `keyway — self-hosted OAuth connection broker

Usage:
  keyway serve [--port N] [--host H] [--data-dir DIR] [--dev]
      Start the server. Flags override KEYWAY_PORT, KEYWAY_HOST, KEYWAY_DATA_DIR, KEYWAY_DEV.
      KEYWAY_PUBLIC_URL (default: the listening address) is what redirect URIs are built from.
      --dev: development mode: http allowed to loopback, sandbox provider mounted at /sandbox.
  keyway keys create --name NAME [--expires-in-days N] [--data-dir DIR]
      Create an API key for the admin member and print it once (only its hash is stored);
      --expires-in-days: refused from then on, as if revoked.
  keyway keys list [--data-dir DIR]
      List the API keys: id, name, first characters, created, last used, expires, revoked.
  keyway keys revoke ID [--data-dir DIR]
      Revoke an API key. Running servers on the same data refuse it within a second.
  keyway keys roll ID [--grace-minutes N] [--data-dir DIR]
      Replace a key with a new one (same name, scope, rate limit, lifetime), printed once; the old
      one stops at once, or after N minutes (up to 10080) so apps can move to the new one first.
  keyway connect INTEGRATION [--device]   (see \`keyway connect --help\`)
      Connect an account through a running Keyway; --device prints a code and URL, like a CLI login.
  keyway import FILE.jsonl [--url URL]
      Import tokens issued elsewhere through a running Keyway, one JSON object per line; failures by line.
  keyway org create NAME --owner-email E [--owner-name N] [--url URL]
      Create an organization and print its id and a one-time sign-in link for its first owner.
  keyway login-link [--email E] [--org ORG] [--url URL]
      Print a one-time sign-in link (15 minutes) for a member; no password is ever stored.
      Their links start with --url, else KEYWAY_PUBLIC_URL, else http://KEYWAY_HOST:KEYWAY_PORT.
  keyway migrate [--data-dir DIR]
      Apply pending database migrations (SQLite in DATA_DIR, or KEYWAY_DATABASE_URL) and exit.
  keyway master-key status|rewrap [--data-dir DIR]
      Master-key rotation: which master key wraps each data key; rewrap moves them all under the
      active KEYWAY_MASTER_KEY (the old one in KEYWAY_PREVIOUS_MASTER_KEYS meanwhile).
  keyway master-key generate
      Print a new random master key (base64) for KEYWAY_MASTER_KEY.
  keyway doctor [--data-dir DIR]
      Check the database and schema, the master key, clock skew and each provider's token endpoint.
  keyway docs providers
      Print docs/providers.md, generated from the provider catalog.
  keyway --help
      This text.

Environment:
  KEYWAY_DATA_DIR            data folder (default ./.keyway): SQLite file, master.key, bootstrap key
  KEYWAY_MASTER_KEY          base64 32-byte master key (else generated into DATA_DIR/master.key)
  KEYWAY_PREVIOUS_MASTER_KEYS older master keys, comma-separated, still accepted (rotation)
  KEYWAY_ALLOW_PRIVATE_HOSTS hosts allowed to resolve to private addresses (in-house Keycloak…)
  KEYWAY_REFRESH_AHEAD_SECONDS refresh tokens this long before expiry (default 300)
  KEYWAY_LOG_LEVEL           fatal, error, warn, info, debug, trace or silent (default info)
  KEYWAY_SANDBOX             mount the sandbox authorization server at /sandbox (default: on in --dev)
  KEYWAY_DATABASE_URL        postgres://… to share one PostgreSQL between Keyway processes (needs KEYWAY_MASTER_KEY)
  KEYWAY_BACKGROUND_REFRESH  refresh connections before they expire and touch idle ones (default 1)
  KEYWAY_REFRESH_CONCURRENCY background refreshes at once per process (default 8)
  KEYWAY_REFRESH_PROVIDER_RATE background refreshes per second to one provider, per process (default 50)
  KEYWAY_AUDIT_RETENTION_DAYS audit entries older than this are pruned (default 365)
  KEYWAY_AUDIT_THREAD        audit entries stored by their own thread, off the one answering requests (default on; 0: off)
  KEYWAY_AUDIT_GROUP_MS      token reads of one connection by one key, and the same proxied call with the same status, within this many ms share one audit entry with their count, times and durations (default 1000; 0: one each)
  KEYWAY_PROVIDER_TIMEOUT_MS each call to a provider's token, revocation or device endpoint: its timeout (default 15000)
  KEYWAY_GATEWAY_TIMEOUT_MS  a gateway call: how long the provider may take to start answering, or stall mid-answer (default 120000)
  KEYWAY_REFRESH_LEASE_MS    refresh lock lease; a crashed holder is taken over after it (default max(30000, 2 × provider timeout))
  KEYWAY_OIDC_ISSUER         single sign-on for people: the OpenID Connect provider's issuer
  KEYWAY_OIDC_CLIENT_ID      … its client id (redirect URI: {KEYWAY_PUBLIC_URL}/auth/callback)
  KEYWAY_OIDC_CLIENT_SECRET  … its client secret (omit for a public client)
  KEYWAY_OIDC_PAR            … push sign-in requests first (RFC 9126): 1 always, 0 never (default: when it requires it)
  KEYWAY_RATE_LIMIT_PER_MINUTE requests per minute per API key unless the key sets its own (default 6000; 0: none)
`;

async function serve(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, { port: 'string', host: 'string', 'data-dir': 'string', dev: 'boolean' });
  const config = loadConfig(process.env, {
    port: flags['port'] as string | undefined, host: flags['host'] as string | undefined,
    dataDir: flags['data-dir'] as string | undefined, dev: flags['dev'] === true ? true : undefined,
  });
  const kw = await startKeyway({ config }).catch((e: unknown) => {
    throw (e as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? new Error(`${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port} is already in use. Is Keyway already running there? Stop it, or pick another port with --port N (or KEYWAY_PORT).`)
      : e;
  });
  process.stdout.write(`Keyway is listening on ${kw.url} (public URL ${config.publicUrl})\n`);
  if (config.dev) process.stdout.write('WARNING: DEVELOPMENT MODE: outbound calls may use plain http to loopback addresses. Do not run production like this.\n');
  if (kw.sandbox) process.stdout.write(`Sandbox provider: ${kw.sandbox.issuer} — sign in there with any user name.\n`);
  if (kw.bootstrapKeyFile) process.stdout.write(`Bootstrap admin API key: in ${kw.bootstrapKeyFile} (mode 0600; not printed).\n`);
  const stop = () => void kw.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function migrateCommand(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, { 'data-dir': 'string' });
  const config = loadConfig(process.env, { dataDir: flags['data-dir'] as string | undefined });
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = openStoreFor(config.databaseUrl, dataDir);
  try {
    const applied = await store.migrate(systemClock.now());
    process.stdout.write(applied.length > 0 ? `Applied migrations ${applied.join(', ')} (${store.kind}).\n` : `The ${store.kind} database is up to date.\n`);
  } finally {
    await store.close();
  }
}

async function doctorCommand(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, { 'data-dir': 'string' });
  const config = loadConfig(process.env, { dataDir: flags['data-dir'] as string | undefined });
  const { doctor, formatChecks } = await import('./doctor.ts');
  const checks = await doctor(config, process.env);
  process.stdout.write(formatChecks(checks));
  if (checks.some((c) => !c.ok)) process.exitCode = 1;
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (cmd === 'serve') return serve(rest);
  if (cmd === 'keys') return keysCommand(rest);
  if (cmd === 'connect') return (await import('./connect.ts')).connectCommand(rest);
  if (cmd === 'import') {
    const report = await (await import('./import.ts')).importCommand(rest);
    if (report.failures.length > 0) process.exitCode = 1;
    return;
  }
  if (cmd === 'org') return (await import('./orgs.ts')).orgCommand(rest);
  if (cmd === 'login-link') return (await import('./login-link.ts')).loginLinkCommand(rest);
  if (cmd === 'migrate') return migrateCommand(rest);
  if (cmd === 'doctor') return doctorCommand(rest);
  if (cmd === 'master-key') {
    process.exitCode = await (await import('./master-key.ts')).masterKeyCommand(rest);
    return;
  }
  if (cmd === 'docs' && rest[0] === 'providers') { // keyway docs providers > docs/providers.md
    const { BUILTIN_PROVIDERS_DIR, loadDefinitionsFromDir, renderProvidersMarkdown } = await import('../catalog/index.ts');
    process.stdout.write(renderProvidersMarkdown(loadDefinitionsFromDir(BUILTIN_PROVIDERS_DIR)));
    return;
  }
  throw new Error(`Unknown command "${cmd}". Run \`keyway --help\`.`);
}

/**
 * The `keyway` process: runs a command and ends with exit code 1 and its message on an error. Output
 * piped to a reader that stops early (\`| head\`) ends the command quietly.
 */
export function run(argv: string[]): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0);
  });
  main(argv).catch((e: unknown) => {
    process.stderr.write(`keyway: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

if (import.meta.main) run(process.argv.slice(2));
