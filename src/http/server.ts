import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { DestinationStream } from 'pino';
import type { FastifyInstance } from 'fastify';
import { type Clock, type Config, KeywayError, type Random, cryptoRandom, systemClock } from '../core/index.ts';
import { type Store, openStoreFor } from '../store/index.ts';
import { MASTER_KEY_FILE, type MasterKeys, createVault, dataKeysByMasterKey, loadMasterKeys, missingMasterKey, refuseMisfitMasterKeys } from '../vault/index.ts';
import { BUILTIN_PROVIDERS_DIR, Catalog, type ProviderDefinition, loadDefinitionsFromDir } from '../catalog/index.ts';
import { type LookupFn, createOutbound } from '../outbound/index.ts';
import { bootstrap } from '../access/index.ts';
import type { Sandbox } from '../sandbox/index.ts';
import { createLogger } from './logger.ts';
import { type Services, createServices } from './services.ts';
import { type Mount, createApp } from './app.ts';
import { createMountedSandbox, ensureSandboxIntegration, sandboxDefinition } from './sandbox-mount.ts';

export interface StartOptions {
  config: Config;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  random?: Random;
  store?: Store;
  /** Where logs go (tests capture them). Default: stdout. */
  logDestination?: DestinationStream;
  lookup?: LookupFn;
  providerTimeoutMs?: number;
  leaseMs?: number;
  /** Device-flow poller tick in real milliseconds; 0 turns the background loop off (tests poll by hand). */
  devicePollTickMs?: number;
  /** Provider definitions added to the built-in catalog (tests, embedding). */
  extraDefinitions?: ProviderDefinition[];
  /** On close, how long requests in flight may take to finish before their connections are cut. Default 10 s. */
  closeGraceMs?: number;
}

const CLOSE_GRACE_MS = 10_000;

export interface Keyway {
  app: FastifyInstance;
  url: string;
  services: Services;
  sandbox: Sandbox | null;
  orgId: string;
  /** Set on first start: the file holding the bootstrap admin key. */
  bootstrapKeyFile: string | null;
  close(): Promise<void>;
}

/** Opens everything, builds the app and listens. Used by `keyway serve` and by the tests. */
export async function startKeyway(opts: StartOptions): Promise<Keyway> {
  const { config } = opts;
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? cryptoRandom;
  const logger = createLogger(config.logLevel, opts.logDestination);
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const env = opts.env ?? process.env;
  if (config.databaseUrl && !opts.store && !env['KEYWAY_MASTER_KEY']) {
    throw new KeywayError('invalid_request', 'With KEYWAY_DATABASE_URL every Keyway process must use the same master key: set KEYWAY_MASTER_KEY (base64 of 32 random bytes, e.g. `openssl rand -base64 32`).');
  }
  const store = opts.store ?? openStoreFor(config.databaseUrl, dataDir);
  await store.migrate(clock.now());
  const masterKeys = await fittingMasterKeys(store, dataDir, env, random).catch(async (e: unknown) => {
    if (!opts.store) await store.close(); // one handed in is the caller's to close
    throw e;
  });
  for (const w of masterKeys.warnings) logger.warn(w);
  const vault = createVault({ masterKeys, dataKeys: store.dataKeys, random, clock });
  const definitions = loadDefinitionsFromDir(BUILTIN_PROVIDERS_DIR);
  if (config.sandbox) definitions.push(sandboxDefinition(config.publicUrl));
  definitions.push(...(opts.extraDefinitions ?? []));
  const catalog = new Catalog(definitions);
  const outbound = createOutbound({ dev: config.dev, allowPrivateHosts: config.allowPrivateHosts, ...(opts.lookup ? { lookup: opts.lookup } : {}) });
  const services = createServices({
    config, clock, random, store, vault, catalog, outbound, logger, processId: `proc_${randomUUID()}`,
    ...(opts.providerTimeoutMs ? { providerTimeoutMs: opts.providerTimeoutMs } : {}),
    ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}),
    ...(opts.devicePollTickMs !== undefined ? { devicePollTickMs: opts.devicePollTickMs } : {}),
    // A store handed in (tests) may be in memory: only one Keyway opened itself can be opened again.
    ...(config.auditThread && !opts.store ? { auditThread: { databaseUrl: config.databaseUrl, dataDir } } : {}),
  });
  const boot = await bootstrap({ store, random, clock }, dataDir);
  const mounts: Mount[] = [];
  let sandbox: Sandbox | null = null;
  if (config.sandbox) {
    const mounted = await createMountedSandbox(config.publicUrl);
    sandbox = mounted.sandbox;
    mounts.push(mounted.mount);
    await ensureSandboxIntegration(services, sandbox, boot.org.id);
  }
  if (config.dev) {
    logger.warn('DEVELOPMENT MODE (--dev or KEYWAY_DEV=1): outbound calls may use plain http to loopback addresses. Never run production like this.');
  }
  const app = createApp(services, mounts);
  services.webhooks.start();
  services.retention.start();
  if (config.backgroundRefresh) services.scheduler.start();
  services.devicePoller.start();
  services.cacheCheck.start();
  await app.listen({ host: config.host, port: config.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  if (boot.keyFile) logger.info(`First start: the bootstrap admin API key was written to ${boot.keyFile} (mode 0600). Read it from there; it is not printed.`);
  return {
    app, url, services, sandbox, orgId: boot.org.id, bootstrapKeyFile: boot.keyFile,
    async close() {
      // Background work first, so no refresh or poll starts while the calls in flight finish.
      await services.scheduler.stop();
      await services.devicePoller.stop();
      await closeServer(app, logger, opts.closeGraceMs ?? CLOSE_GRACE_MS);
      await services.cacheCheck.stop();
      await services.webhooks.stop();
      await services.retention.stop();
      await services.audit.close();
      await store.close();
    },
  };
}

/**
 * Stops taking requests and waits for those in flight — a long download or a slow provider — for
 * at most `graceMs`, saying so after a second; then cuts their connections, so a stop never hangs.
 */
async function closeServer(app: FastifyInstance, logger: ReturnType<typeof createLogger>, graceMs: number): Promise<void> {
  const closing = app.close();
  const told = setTimeout(() => logger.warn(`stopping: waiting for the requests in flight to finish (at most ${Math.ceil(graceMs / 1000)} s)`), Math.min(1000, graceMs / 2));
  const cut = setTimeout(() => {
    logger.warn('stopping: requests still in flight after the grace period were cut off');
    app.server.closeAllConnections();
  }, graceMs);
  try {
    await closing;
  } finally {
    clearTimeout(told);
    clearTimeout(cut);
  }
}

/**
 * The master keys, checked to be the ones the stored data was encrypted with before anything is
 * written: a data folder holding encrypted data gets no newly generated key, and a mistyped
 * KEYWAY_MASTER_KEY stops start-up instead of sealing new secrets under it.
 */
async function fittingMasterKeys(store: Store, dataDir: string, env: NodeJS.ProcessEnv, random: Random): Promise<MasterKeys> {
  const byKid = await dataKeysByMasterKey(store.dataKeys);
  const keyFile = join(dataDir, MASTER_KEY_FILE);
  if (byKid.size > 0 && env['KEYWAY_MASTER_KEY'] === undefined && !existsSync(keyFile)) throw missingMasterKey(keyFile);
  const masterKeys = await loadMasterKeys({ dataDir, env, random });
  refuseMisfitMasterKeys(masterKeys, byKid);
  return masterKeys;
}
