import { resolve, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { loadConfig } from '../core/config.ts';
import { cryptoRandom, systemClock } from '../core/index.ts';
import { openSqliteStore } from '../store/index.ts';
import { bootstrap, createApiKey } from '../access/index.ts';
import { startKeyway } from '../http/server.ts';
import { parseArgs } from './args.ts';

export const HELP = `keyway — self-hosted OAuth connection broker

Usage:
  keyway serve [--port N] [--host H] [--data-dir DIR] [--dev]
      Start the server. Flags override KEYWAY_PORT, KEYWAY_HOST, KEYWAY_DATA_DIR, KEYWAY_DEV.
      KEYWAY_PUBLIC_URL (default: the listening address) is what redirect URIs are built from.
      --dev: development mode: http allowed to loopback, sandbox provider mounted at /sandbox.
  keyway keys create --name NAME [--data-dir DIR]
      Create an API key for the admin member and print it once (only its hash is stored).
  keyway --help
      This text.

Environment:
  KEYWAY_DATA_DIR            data folder (default ./.keyway): SQLite file, master.key, bootstrap key
  KEYWAY_MASTER_KEY          base64 32-byte master key (else generated into DATA_DIR/master.key)
  KEYWAY_PREVIOUS_MASTER_KEYS older master keys, comma-separated, still accepted (rotation)
  KEYWAY_ALLOW_PRIVATE_HOSTS hosts allowed to resolve to private addresses (in-house Keycloak…)
  KEYWAY_REFRESH_AHEAD_SECONDS refresh tokens this long before expiry (default 300)
  KEYWAY_LOG_LEVEL           pino level (default info)
`;

async function serve(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, { port: 'string', host: 'string', 'data-dir': 'string', dev: 'boolean' });
  const config = loadConfig(process.env, {
    port: flags['port'] as string | undefined, host: flags['host'] as string | undefined,
    dataDir: flags['data-dir'] as string | undefined, dev: flags['dev'] === true ? true : undefined,
  });
  const kw = await startKeyway({ config });
  process.stdout.write(`Keyway is listening on ${kw.url} (public URL ${config.publicUrl})\n`);
  if (config.dev) process.stdout.write('WARNING: DEVELOPMENT MODE: outbound calls may use plain http to loopback addresses. Do not run production like this.\n');
  if (kw.sandbox) process.stdout.write(`Sandbox provider: ${kw.sandbox.issuer} — sign in there with any user name.\n`);
  if (kw.bootstrapKeyFile) process.stdout.write(`Bootstrap admin API key: in ${kw.bootstrapKeyFile} (mode 0600; not printed).\n`);
  const stop = () => void kw.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function keys(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'create') throw new Error('Usage: keyway keys create --name NAME');
  const { flags } = parseArgs(rest, { name: 'string', 'data-dir': 'string' });
  const name = flags['name'];
  if (typeof name !== 'string' || name.trim() === '') throw new Error('keyway keys create needs --name NAME.');
  const config = loadConfig(process.env, { dataDir: flags['data-dir'] as string | undefined });
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = openSqliteStore(join(dataDir, 'keyway.db'));
  try {
    await store.migrate(systemClock.now());
    const deps = { store, random: cryptoRandom, clock: systemClock };
    const { org, admin } = await bootstrap(deps, dataDir);
    const { key, record } = await createApiKey(deps, { orgId: org.id, memberId: admin.id, name });
    process.stdout.write(`${key}\n`);
    process.stderr.write(`Created API key ${record.id} ("${name}") for ${admin.email}. It is shown only this once.\n`);
  } finally {
    await store.close();
  }
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (cmd === 'serve') return serve(rest);
  if (cmd === 'keys') return keys(rest);
  throw new Error(`Unknown command "${cmd}". Run \`keyway --help\`.`);
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`keyway: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
