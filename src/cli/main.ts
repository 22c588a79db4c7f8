import { resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { loadConfig } from '../core/config.ts';
import { systemClock } from '../core/index.ts';
import { openStoreFor } from '../store/index.ts';
import { parseArgs } from './args.ts';
import { keysCommand } from './keys.ts';
import { HELP, commandHelp } from './help.ts';

async function serve(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, { port: 'string', host: 'string', 'data-dir': 'string', dev: 'boolean' });
  const config = loadConfig(process.env, {
    port: flags['port'] as string | undefined, host: flags['host'] as string | undefined,
    dataDir: flags['data-dir'] as string | undefined, dev: flags['dev'] === true ? true : undefined,
  });
  // Loaded here: the server and its dependencies are most of what the other commands would wait for.
  const { startKeyway } = await import('../http/server.ts');
  const kw = await startKeyway({ config }).catch((e: unknown) => {
    throw (e as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? new Error(`${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port} is already in use. Is Keyway already running there? Stop it, or pick another port with --port N (or KEYWAY_PORT).`)
      : e;
  });
  process.stdout.write(`Keyway is listening on ${kw.url} (public URL ${config.publicUrl})\n`);
  if (config.dev) process.stdout.write('WARNING: DEVELOPMENT MODE: outbound calls may use plain http to loopback addresses. Do not run production like this.\n');
  if (kw.sandbox) process.stdout.write(`Sandbox provider: ${kw.sandbox.issuer} — sign in there with any user name.\n`);
  if (kw.bootstrapKeyFile) process.stdout.write(`Bootstrap admin API key: in ${kw.bootstrapKeyFile} (mode 0600; not printed).\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) {
      process.stderr.write('Stopped at once: calls still in flight were cut.\n');
      process.exit(1);
    }
    stopping = true;
    process.stdout.write('Stopping: finishing the calls in flight (at most 10 s; Ctrl-C again to stop at once).\n');
    void kw.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
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
  const help = rest.includes('--help') || rest.includes('-h') ? commandHelp(cmd) : null;
  if (help !== null) {
    process.stdout.write(help);
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
  if (cmd === 'docs') throw new Error('Usage: keyway docs providers');
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
