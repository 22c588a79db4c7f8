import type { Clock } from '../core/clock.ts';
import { KeywayError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Random } from '../core/random.ts';
import { type Catalog, type ConnectionValues, type EndpointConfig, type ProviderDefinition, type ResolvedProvider, hooksFor, resolveProvider } from '../catalog/index.ts';
import { type ClientPrivateKey, type OAuthContext, discoverIssuer, importClientPrivateKey, withNormalizer } from '../oauth/index.ts';
import type { Outbound } from '../outbound/index.ts';
import type { IntegrationRecord, Store } from '../store/index.ts';
import type { Actor, AuditWriter } from '../audit/index.ts';
import type { SecretSealer } from '../tokens/index.ts';

export interface IntegrationInput {
  provider: string;
  name?: string | undefined;
  /** Required for OAuth providers; API-key and Basic providers have no OAuth app. */
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  /** PEM private key for `private_key_jwt` client authentication (stored in the vault). */
  privateKey?: string | undefined;
  /** The key id registered with the provider for that key, sent as the assertion's `kid`. */
  privateKeyId?: string | undefined;
  scopes?: string[] | undefined;
  authorizationUrl?: string | undefined;
  tokenUrl?: string | undefined;
  revocationUrl?: string | undefined;
  apiBaseUrl?: string | undefined;
  issuer?: string | undefined;
  /**
   * Push each authorization request to the provider's PAR endpoint first (RFC 9126). Unset: only
   * when the provider's metadata requires it.
   */
  pushedAuthorization?: boolean | undefined;
}

export interface IntegrationServiceDeps {
  store: Store;
  catalog: Catalog;
  vault: SecretSealer;
  outbound: Outbound;
  clock: Clock;
  random: Random;
  audit: AuditWriter;
  publicUrl: string;
  dev: boolean;
  providerTimeoutMs: number;
  /** Called after an integration changes or is deleted, so caches of it elsewhere drop it at once. */
  onChanged?: (integrationId: string) => void;
}

const URL_FIELDS = ['authorizationUrl', 'tokenUrl', 'revocationUrl', 'deviceAuthorizationUrl', 'parUrl', 'apiBaseUrl'] as const;

/** Integrations: a provider plus the organization's own OAuth app. */
/** What `PATCH /v1/integrations/{id}` may change. */
export interface IntegrationPatch {
  name?: string | undefined;
  scopes?: string[] | undefined;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
}

export class IntegrationService {
  readonly #d: IntegrationServiceDeps;
  readonly #secrets = new Map<string, { updatedAt: number; secret: string | null; privateKey: ClientPrivateKey | null }>();

  constructor(deps: IntegrationServiceDeps) {
    this.#d = deps;
  }

  redirectUri(integrationId: string): string {
    return `${this.#d.publicUrl}/oauth/callback/${integrationId}`;
  }

  async create(orgId: string, actor: Actor, input: IntegrationInput): Promise<IntegrationRecord> {
    const def = this.#d.catalog.require(input.provider);
    if (def.credential === 'oauth2' && !input.clientId) {
      throw new KeywayError('invalid_request', `${def.name} uses OAuth: give "clientId" (and "clientSecret" or "privateKey") of your OAuth app.`);
    }
    if (input.privateKey !== undefined) await importClientPrivateKey(input.privateKey); // refuse a bad key now, not at the first token request
    const config = await this.#endpointConfig(def, input);
    const now = this.#d.clock.now();
    const id = newId('integration', this.#d.random);
    const seal = (field: string, value: string | undefined) => value ? this.#d.vault.encrypt({ orgId, recordId: id, field }, value) : Promise.resolve(null);
    const rec: IntegrationRecord = {
      id, orgId, provider: def.id, name: input.name ?? def.name, clientId: input.clientId ?? '',
      clientSecretEnc: await seal('client_secret', input.clientSecret),
      scopes: input.scopes ?? def.scopes.default,
      config: { ...config, ...(input.privateKeyId ? { privateKeyId: input.privateKeyId } : {}) },
      privateKeyEnc: await seal('private_key', input.privateKey), createdAt: now, updatedAt: now,
    };
    await this.#d.store.integrations.insert(rec);
    this.#d.audit.record({ orgId, actor, action: 'integration.create', integrationId: id, detail: { provider: def.id } });
    return rec;
  }

  /** Endpoints for a custom provider (given or discovered), each checked by the outbound policy. */
  async #endpointConfig(def: ProviderDefinition, input: IntegrationInput): Promise<EndpointConfig> {
    const { outbound } = this.#d;
    // Built-in providers that list their endpoints are not discovered; those that give only an issuer are.
    const issuer = input.issuer ?? (def.id === 'custom' || def.tokenUrl ? undefined : def.issuer);
    let config: EndpointConfig = {};
    if (def.id === 'custom') {
      if (!issuer && !(input.authorizationUrl && input.tokenUrl)) {
        throw new KeywayError('invalid_request', 'A custom provider needs either "issuer" (to discover its endpoints) or both "authorizationUrl" and "tokenUrl".');
      }
      config = { authorizationUrl: input.authorizationUrl, tokenUrl: input.tokenUrl, revocationUrl: input.revocationUrl, apiBaseUrl: input.apiBaseUrl };
    } else if (input.authorizationUrl || input.tokenUrl || input.issuer) {
      throw new KeywayError('invalid_request', `Provider "${def.id}" has fixed endpoints; endpoint URLs can only be given with provider "custom".`);
    }
    if (issuer) {
      outbound.checkUrl(issuer, 'issuer');
      const discovered = await discoverIssuer(issuer, { fetch: outbound.fetch, allowInsecure: this.#d.dev, timeoutMs: this.#d.providerTimeoutMs });
      config = { ...discovered, ...Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) };
    }
    for (const f of URL_FIELDS) {
      const v = config[f];
      if (v !== undefined) config[f] = outbound.checkUrl(v, f).toString();
    }
    if (input.pushedAuthorization !== undefined) config.usePar = input.pushedAuthorization;
    if ((config.usePar ?? config.requirePar) === true && (config.parUrl ?? def.parUrl) === undefined) {
      const fix = def.id === 'custom' ? 'give "issuer" so Keyway can discover it, or leave "pushedAuthorization" unset' : 'leave "pushedAuthorization" unset';
      throw new KeywayError('invalid_request', `${def.name} has no pushed authorization request (PAR) endpoint${config.requirePar ? ', although its metadata requires pushed requests' : ''}; ${fix}.`);
    }
    return config;
  }

  async get(orgId: string, id: string): Promise<IntegrationRecord> {
    const rec = await this.#d.store.integrations.get(orgId, id);
    if (!rec) throw noIntegration(id);
    return rec;
  }

  list(orgId: string): Promise<IntegrationRecord[]> {
    return this.#d.store.integrations.list(orgId);
  }

  /**
   * Renames, changes scopes, or rotates the client id / secret. A new secret is used from the next
   * provider call on (cached secrets are keyed by updatedAt) and no connection needs reconnecting;
   * new scopes apply to new consents, existing connections keep theirs until re-authenticated.
   */
  async update(orgId: string, actor: Actor, id: string, patch: IntegrationPatch): Promise<IntegrationRecord> {
    const rec = await this.get(orgId, id);
    const changes: Partial<IntegrationRecord> = { updatedAt: Math.max(this.#d.clock.now(), rec.updatedAt + 1) };
    if (patch.name !== undefined) changes.name = patch.name;
    if (patch.scopes !== undefined) changes.scopes = patch.scopes;
    if (patch.clientId !== undefined) changes.clientId = patch.clientId;
    if (patch.clientSecret !== undefined) {
      changes.clientSecretEnc = await this.#d.vault.encrypt({ orgId, recordId: id, field: 'client_secret' }, patch.clientSecret);
    }
    const fields = Object.keys(patch).filter((k) => patch[k as keyof IntegrationPatch] !== undefined);
    if (fields.length === 0) throw new KeywayError('invalid_request', 'Nothing to change: give "name", "scopes", "clientId" or "clientSecret".');
    await this.#d.store.integrations.update(orgId, id, changes);
    this.#secrets.delete(id);
    this.#d.onChanged?.(id);
    this.#d.audit.record({ orgId, actor, action: 'integration.update', integrationId: id, detail: { changed: fields } });
    return { ...rec, ...changes };
  }

  async delete(orgId: string, actor: Actor, id: string): Promise<void> {
    await this.get(orgId, id);
    const n = await this.#d.store.integrations.delete(orgId, id);
    if (n === -1) throw new KeywayError('conflict', 'This integration still has connections; disconnect them first, or delete it with ?force=true to disconnect every one of them (each revoked at the provider).');
    this.#secrets.delete(id);
    this.#d.onChanged?.(id);
    this.#d.audit.record({ orgId, actor, action: 'integration.delete', integrationId: id });
  }

  /** Endpoints as configured; with a connection's values, URL templates are filled in and checked. */
  resolved(rec: IntegrationRecord, values?: ConnectionValues): ResolvedProvider {
    const r = resolveProvider(this.definition(rec), rec.config as EndpointConfig, values);
    if (values && Object.keys(values.params).length > 0) {
      for (const u of [r.issuer, r.authorizationEndpoint, r.tokenEndpoint, r.revocationEndpoint, r.deviceAuthorizationEndpoint, r.parEndpoint]) {
        if (u) this.#d.outbound.checkUrl(u, 'provider endpoint');
      }
    }
    return r;
  }

  definition(rec: IntegrationRecord): ProviderDefinition {
    return this.#d.catalog.require(rec.provider);
  }

  /** Everything a protocol call for this integration needs; the client secret decrypted (cached per version). */
  async oauthContext(rec: IntegrationRecord, values?: ConnectionValues): Promise<OAuthContext> {
    let cached = this.#secrets.get(rec.id);
    if (!cached || cached.updatedAt !== rec.updatedAt) {
      const open = (field: string, env: string | null) => env ? this.#d.vault.decrypt({ orgId: rec.orgId, recordId: rec.id, field }, env) : Promise.resolve(null);
      const secret = await open('client_secret', rec.clientSecretEnc);
      const pem = await open('private_key', rec.privateKeyEnc);
      const kid = typeof rec.config['privateKeyId'] === 'string' ? rec.config['privateKeyId'] : undefined;
      cached = { updatedAt: rec.updatedAt, secret, privateKey: pem === null ? null : await importClientPrivateKey(pem, kid) };
      this.#secrets.set(rec.id, cached);
    }
    const provider = this.resolved(rec, values);
    return {
      provider,
      client: { clientId: rec.clientId, clientSecret: cached.secret, privateKey: cached.privateKey },
      fetch: withNormalizer(this.#d.outbound.fetch, hooksFor(provider.definition)),
      apiFetch: this.#d.outbound.fetch,
      allowInsecure: this.#d.dev,
      timeoutMs: this.#d.providerTimeoutMs,
    };
  }
}

/**
 * The 404 for an integration id not found (or not visible). A provider's name where the id belongs
 * (`"sandbox"`, `"github"`: the CLI takes those) is the usual slip: said so.
 */
export function noIntegration(id: string): KeywayError {
  const shown = id.slice(0, 100);
  return new KeywayError('not_found', id.startsWith('int_')
    ? `No integration ${shown}.`
    : `No integration ${shown}. Integrations are named by their id (int_…), not their provider; GET /v1/integrations lists them with their provider.`);
}
