import type { Logger } from 'pino';
import { type Clock, type Config, type Random, randomToken } from '../core/index.ts';
import type { ConnectionRecord, Store, StoreLocation } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';
import type { Catalog } from '../catalog/index.ts';
import type { Outbound } from '../outbound/index.ts';
import { type AuditSink, AuditRetention, AuditWriter, StoreAuditSink, ThreadAuditSink, readChanged } from '../audit/index.ts';
import { IntegrationService } from '../integrations/index.ts';
import { ConnectService, ConnectionService, DevicePoller } from '../connect/index.ts';
import { CacheCheck, type RefreshPolicy, Refresher, TokenCache, TokenCrypto, TokenService, RefreshScheduler } from '../tokens/index.ts';
import { ApiKeyGate, KeyOwners, MemberDirectory, OidcSignIn, type SessionPolicy, SessionService } from '../access/index.ts';
import { ProxyService, ProxyTargets } from '../proxy/index.ts';
import { WebhookService, connectionSnapshot, eventForTransition } from '../webhooks/index.ts';

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
  /** How often the device-flow poller looks for due polls (real time); 0: no background loop. Default 1000. */
  devicePollTickMs?: number;
  /** Session lifetimes for people signed in (default: 12 h idle, 7 days at most). */
  sessionPolicy?: SessionPolicy;
  /**
   * Where the store lives, when the audit log is written by its own thread (`keyway serve` on a
   * database file or PostgreSQL); without it audit batches are written on this thread.
   */
  auditThread?: StoreLocation;
}

export interface Services extends AppDeps {
  audit: AuditWriter;
  integrations: IntegrationService;
  connect: ConnectService;
  /** Client-credentials, API-key and Basic connections; disconnect with revocation. */
  connections: ConnectionService;
  /** Polls providers for pending device-flow sessions (RFC 8628); started by the server. */
  devicePoller: DevicePoller;
  refresher: Refresher;
  tokens: TokenService;
  /** Re-checks the token cache's rows against the store in batches (started with the server). */
  cacheCheck: CacheCheck;
  /** API-key checks (cached, revocation within a second) and per-key rate limits. */
  keys: ApiKeyGate;
  proxy: ProxyService;
  /** Status-change events to the organization's endpoints, signed and retried. */
  webhooks: WebhookService;
  /** Background refresh of connections nobody is calling. */
  scheduler: RefreshScheduler;
  /** Background pruning of old audit entries. */
  retention: AuditRetention;
  /** Members behind keys and sessions, with their current role (re-read within a second). */
  members: MemberDirectory;
  /** Which member each API key seen here belongs to (for the gateway's audit entries). */
  keyOwners: KeyOwners;
  /** Signed-in people's sessions. */
  sessions: SessionService;
  /**
   * A secret made at start, never shown: the MCP tools send it with their calls through this
   * process's own gateway, so those calls are not counted twice against the key's rate limit.
   */
  mcpCallToken: string;
  /** Single sign-on with the configured OpenID Connect provider; null when none is configured. */
  signIn: OidcSignIn | null;
}

export function createServices(deps: AppDeps): Services {
  const { store, clock, random, vault, config, logger } = deps;
  const providerTimeoutMs = deps.providerTimeoutMs ?? config.providerTimeoutMs;
  const leaseMs = deps.leaseMs ?? (deps.providerTimeoutMs ? Math.max(config.refreshLeaseMs, providerTimeoutMs * 2) : config.refreshLeaseMs);
  const policy: RefreshPolicy = { refreshAheadMs: config.refreshAheadMs, failingAfter: 3 };
  const keyOwners = new KeyOwners();
  const onHeld = (e: Error): void => logger.warn({ err: e }, 'audit entries held: the database cannot take them now; they are stored once it can');
  const thread = deps.auditThread
    ? new ThreadAuditSink({
      location: deps.auditThread, store, random, groupMs: config.auditGroupMs,
      onLost: (e) => logger.error({ err: e }, 'audit thread lost'),
      onError: (e) => logger.error({ err: e }, 'audit write failed'),
      onHeld,
    })
    : null;
  const sink: AuditSink = thread ?? new StoreAuditSink(store, random, { onHeld });
  const audit = new AuditWriter({
    sink, clock, onError: (e) => logger.error({ err: e }, 'audit write failed'),
    memberOfKey: (keyId) => keyOwners.memberOf(keyId), groupMs: config.auditGroupMs,
  });
  // The refresher caches integrations for a second; an edit here drops that at once.
  let forgetIntegration = (_id: string): void => undefined;
  const integrations = new IntegrationService({
    store, catalog: deps.catalog, vault, outbound: deps.outbound, clock, random, audit,
    publicUrl: config.publicUrl, dev: config.dev, providerTimeoutMs, onChanged: (id) => forgetIntegration(id),
  });
  const webhooks = new WebhookService({
    store, vault, outbound: deps.outbound, clock, random, processId: deps.processId,
    onError: (e) => logger.error({ err: e }, 'webhook delivery failed'),
  });
  // Every status transition, wherever it happens (refresh, a read that finds a dead refresh token), and
  // every create / re-auth / delete becomes a webhook event (DESIGN.md: webhooks mirror the transitions).
  const onStatusChange = (before: ConnectionRecord, after: ConnectionRecord): void => {
    logger.info({ connection: after.id, from: before.status, to: after.status }, 'connection status changed');
    const type = eventForTransition(before.status, after.status);
    if (type) void webhooks.emit(after.orgId, type, { connection: connectionSnapshot(after) });
  };
  const onConnectionEvent = (event: 'created' | 'reauthorized' | 'deleted', c: ConnectionRecord): void => {
    void webhooks.emit(c.orgId, `connection.${event}`, { connection: connectionSnapshot(c) });
  };
  const crypto = new TokenCrypto(vault);
  const refresher = new Refresher({
    store, clock, crypto, audit, policy, processId: deps.processId, leaseMs, pollMs: 25,
    oauthContext: (i, v) => integrations.oauthContext(i, v),
    onStatusChange,
  });
  forgetIntegration = (id) => refresher.forgetIntegration(id);
  const tokenCache = new TokenCache();
  const tokens = new TokenService({ store, clock, crypto, audit, refresher, policy, onStatusChange, cache: tokenCache });
  let checkFailing = false; // logged once per outage, not every quarter second
  const cacheCheck = new CacheCheck({
    // With the audit thread, the re-check's reads run there too, off the thread answering requests.
    cache: tokenCache,
    changed: (ids, stamps) => (thread ? thread.changed(ids, stamps) : readChanged((x) => store.connections.stamps(x), ids, stamps)),
    onError: (e) => {
      if (!checkFailing) logger.warn({ err: e }, 'cached connections could not be re-checked; calls read their rows until the store answers');
      checkFailing = true;
    },
    onOk: () => { checkFailing = false; },
  });
  // The one call site that drops cached tokens when connect code replaces or deletes them (re-auth, disconnect).
  const onTokensChanged = (connectionId: string): void => tokens.invalidate(connectionId);
  const connectDeps = { store, vault, integrations, clock, random, audit, onTokensChanged, onConnectionEvent, onStatusChange };
  const connect = new ConnectService({ ...connectDeps, publicUrl: config.publicUrl });
  const connections = new ConnectionService(connectDeps);
  const devicePoller = new DevicePoller({
    ...connectDeps, tickMs: deps.devicePollTickMs ?? 1000,
    onError: (e) => logger.error({ err: e }, 'device flow poll failed'),
  });
  const keys = new ApiKeyGate({
    store, clock, defaultRateLimitPerMinute: config.rateLimitPerMinute,
    onError: (e) => logger.error({ err: e }, 'API key last-use update failed'),
  });
  const targets = new ProxyTargets({
    integration: (orgId, id) => integrations.get(orgId, id),
    resolved: (rec, values) => integrations.resolved(rec, values),
    checkUrl: (url, what) => deps.outbound.checkUrl(url, what),
  });
  const proxy = new ProxyService({
    tokens, targets, dispatcher: deps.outbound.dispatcher, audit, timeoutMs: config.gatewayTimeoutMs,
    ...(logger.isLevelEnabled('debug') ? { onCall: (call: Record<string, unknown>) => logger.debug(call, 'proxy call') } : {}),
  });
  const scheduler = new RefreshScheduler({
    store, clock, refresher, policy, sweep: () => tokens.sweepNeedsReauth(),
    concurrency: config.refreshConcurrency, perProviderPerSecond: config.refreshProviderRate,
    onError: (e) => logger.debug({ err: e }, 'background refresh did not complete'),
  });
  const retention = new AuditRetention({
    store, clock, retentionDays: config.auditRetentionDays, onError: (e) => logger.error({ err: e }, 'audit retention failed'),
  });
  const members = new MemberDirectory({ store });
  const sessions = new SessionService({ store, clock, random, ...(deps.sessionPolicy ? { policy: deps.sessionPolicy } : {}) });
  const signIn = config.oidc === null ? null : new OidcSignIn({
    config: config.oidc, outbound: deps.outbound, allowInsecure: config.dev, timeoutMs: providerTimeoutMs,
    store, clock, random, publicUrl: config.publicUrl,
  });
  return {
    ...deps, audit, integrations, connect, connections, devicePoller, refresher, tokens, cacheCheck, keys, proxy, webhooks, scheduler, retention,
    members, keyOwners, sessions, signIn, mcpCallToken: randomToken(random),
  };
}
