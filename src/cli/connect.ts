import { loadConfig } from '../core/config.ts';
import { parseArgs } from './args.ts';
import { systemClock } from '../core/clock.ts';
import { type Keyway, KeywayWaitTimeout } from '../sdk/index.ts';
import { apiKeyFrom, cliError, serverAt } from './server-client.ts';

interface Io {
  out: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIo: Io = {
  out: (s) => void process.stdout.write(s),
  env: process.env,
};

/** An integration id as given, or the one integration whose provider id or name is the argument. */
export async function integrationId(keyway: Keyway, arg: string): Promise<string> {
  if (arg.startsWith('int_')) return arg;
  const list = (await keyway.integrations.list()).data;
  const matches = list.filter((i) => i.provider === arg || i.name.toLowerCase() === arg.toLowerCase());
  if (matches.length === 1 && matches[0]) return matches[0].id;
  if (matches.length === 0) throw new Error(`No integration "${arg}". Integrations: ${list.map((i) => `${i.id} (${i.provider}, "${i.name}")`).join(', ') || 'none'}.`);
  throw new Error(`"${arg}" matches ${matches.length} integrations; give one id: ${matches.map((i) => i.id).join(', ')}.`);
}

/**
 * `keyway connect INTEGRATION [--device]`: starts a connect session on the running server, shows the
 * person what to do, and waits (asking the server once a second) until the session ends.
 */
export async function connectCommand(argv: string[], io: Io = defaultIo): Promise<void> {
  const { positional, flags } = parseArgs(argv, { device: 'boolean', name: 'string', 'external-id': 'string', url: 'string', 'data-dir': 'string' });
  const arg = positional[0];
  if (!arg || positional.length > 1) throw new Error('Usage: keyway connect INTEGRATION [--device] [--name NAME] [--external-id ID] [--url URL]');
  const config = loadConfig(io.env, { dataDir: flags['data-dir'] as string | undefined });
  const base = ((flags['url'] as string | undefined) ?? io.env['KEYWAY_URL'] ?? config.publicUrl).replace(/\/+$/, '');
  const keyway = serverAt(base, apiKeyFrom(io.env, config.dataDir));
  try {
    await connectThrough(keyway, arg, flags, io);
  } catch (e) {
    throw cliError(e);
  }
}

async function connectThrough(keyway: Keyway, arg: string, flags: Record<string, string | boolean | undefined>, io: Io): Promise<void> {
  const integration = await integrationId(keyway, arg);
  const device = flags['device'] === true;
  const started = await keyway.connectSessions.create({
    integration, ...(device ? { grant: 'device_code' as const } : {}),
    ...(typeof flags['name'] === 'string' ? { name: flags['name'] } : {}),
    ...(typeof flags['external-id'] === 'string' ? { externalId: flags['external-id'] } : {}),
  });
  if (device) {
    io.out(`To connect, open ${String(started.verificationUri)}\nand enter the code: ${String(started.userCode)}\n`);
    if (typeof started.verificationUriComplete === 'string') io.out(`(or open ${started.verificationUriComplete}, which has the code in it)\n`);
  } else {
    io.out(`To connect, open this link in your browser:\n${String(started.connectUrl)}\n`);
  }
  io.out(`Waiting for you to finish (until ${started.expiresAt})…\n`);
  let s;
  try {
    // Asked once a second until the session ends (the server polls the provider; this only asks the server).
    s = await keyway.connectSessions.wait(started.id, { intervalMs: 1000, timeoutMs: Math.max(0, Date.parse(started.expiresAt) + 60_000 - systemClock.now()) });
  } catch (e) {
    if (e instanceof KeywayWaitTimeout) throw new Error('Not connected: the session expired. Run the command again to start over.');
    throw e;
  }
  if (s.status === 'connected') {
    io.out(`Connected: ${String(s.connection)}\n`);
    return;
  }
  const why = s.status === 'denied' ? 'access was denied at the provider' : s.status === 'expired' ? 'the code expired before it was used' : `it failed (${s.error ?? 'unknown error'})`;
  throw new Error(`Not connected: ${why}. Run the command again to start over.`);
}
