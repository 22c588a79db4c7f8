import type { Logger } from 'pino';
import type { Clock, Config, Random } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';
import type { Catalog } from '../catalog/index.ts';
import type { Outbound } from '../outbound/index.ts';
import { AuditWriter } from '../audit/index.ts';
import { IntegrationService } from '../integrations/index.ts';
import { ConnectService } from '../connect/index.ts';
import { type RefreshPolicy, Refresher, TokenCrypto, TokenService } from '../tokens/index.ts';

/** What the app is built from: everything with I/O or time is passed in. */
export interface AppDeps {
  config: Config;
  clock: Clock;
  random: Random;
  store: Store;
  vault: Vault;
  catalog: Catalog;
  outbound: Outbound;
  logger: Logger;
  /** Unique per process: the refresh-lease owner. */
  processId: string;
  providerTimeoutMs?: number;
  leaseMs?: number;
}

export interface Services extends AppDeps {
  audit: AuditWriter;
  integrations: IntegrationService;
  connect: ConnectService;
  refresher: Refresher;
  tokens: TokenService;
}

export function createServices(deps: AppDeps): Services {
  const { store, clock, random, vault, config, logger } = deps;
  const providerTimeoutMs = deps.providerTimeoutMs ?? config.providerTimeoutMs;
  const leaseMs = deps.leaseMs ?? (deps.providerTimeoutMs ? Math.max(config.refreshLeaseMs, providerTimeoutMs * 2) : config.refreshLeaseMs);
  const policy: RefreshPolicy = { refreshAheadMs: config.refreshAheadMs, failingAfter: 3 };
  const audit = new AuditWriter({ store, clock, random, onError: (e) => logger.error({ err: e }, 'audit write failed') });
  const integrations = new IntegrationService({
    store, catalog: deps.catalog, vault, outbound: deps.outbound, clock, random, audit,
    publicUrl: config.publicUrl, dev: config.dev, providerTimeoutMs,
  });
  const crypto = new TokenCrypto(vault);
  const refresher = new Refresher({
    store, clock, crypto, audit, policy, processId: deps.processId, leaseMs, pollMs: 25,
    oauthContext: (i, v) => integrations.oauthContext(i, v),
    onStatusChange: (before, after) => logger.info({ connection: after.id, from: before.status, to: after.status }, 'connection status changed'),
  });
  const tokens = new TokenService({ store, clock, crypto, audit, refresher, policy });
  const connect = new ConnectService({ store, vault, integrations, clock, random, audit, publicUrl: config.publicUrl });
  return { ...deps, audit, integrations, connect, refresher, tokens };
}
