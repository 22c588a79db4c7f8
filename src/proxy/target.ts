import { KeywayError } from '../core/errors.ts';
import type { ResolvedProvider, ConnectionValues } from '../catalog/index.ts';
import type { ConnectionRecord, IntegrationRecord } from '../store/index.ts';
import { CredentialMemo, type Injection } from './inject.ts';
import { CallEventMemo } from './call-event.ts';

/** One of the provider's API base URLs, split for undici: origin, and path without a trailing '/'. */
export interface ApiBase {
  url: string;
  origin: string;
  basePath: string;
}

/** Where a connection's calls go and how they are authorised. */
export interface ProxyTarget {
  /** The declared base URLs, connection values filled in; the first is the default. */
  bases: ApiBase[];
  inject: Injection;
  /** Headers the provider's API requires on every call (Notion-Version…), unless the caller sends its own. */
  headers: Record<string, string>;
  /** The credential as last sent through this target (a target is one connection's). */
  credential: CredentialMemo;
  /** The audit event of the last completed call through it. */
  audit: CallEventMemo;
}

export interface TargetDeps {
  integration(orgId: string, id: string): Promise<IntegrationRecord>;
  /** Endpoints with the connection's values filled into URL templates. */
  resolved(rec: IntegrationRecord, values: ConnectionValues): ResolvedProvider;
  /** The outbound policy's syntax check (scheme, userinfo, metadata hosts); throws outbound_url_refused. */
  checkUrl(url: string, what: string): URL;
}

interface Entry {
  /** The row the target was last confirmed for (the token service re-reads rows once a second). */
  connection: ConnectionRecord;
  /** The connection values the target was built from. */
  values: string;
  integrationUpdatedAt: number;
  target: ProxyTarget;
}

interface CheckedIntegration {
  rec: IntegrationRecord;
  checkedAt: number;
}

/**
 * Proxy targets by connection, O(1) per call. An integration is read again at most once a
 * second (a changed API base URL is picked up as quickly), and a target is rebuilt only when its
 * integration or the connection's values changed.
 */
export class ProxyTargets {
  readonly #d: TargetDeps;
  readonly #entries = new Map<string, Entry>();
  readonly #integrations = new Map<string, CheckedIntegration>();
  readonly #max: number;
  readonly #revalidateMs: number;
  readonly #monotonic: () => number;

  constructor(deps: TargetDeps, options: { max?: number; revalidateMs?: number; monotonic?: () => number } = {}) {
    this.#d = deps;
    this.#max = options.max ?? 10_000;
    this.#revalidateMs = options.revalidateMs ?? 1000;
    this.#monotonic = options.monotonic ?? (() => performance.now());
  }

  /**
   * The target from memory, without waiting, when it was built for this very row and its
   * integration was read within `revalidateMs`; undefined means "call `of`".
   */
  cached(c: ConnectionRecord): ProxyTarget | undefined {
    const hit = this.#entries.get(c.id);
    if (hit === undefined || hit.connection !== c) return undefined;
    const integration = this.#integrations.get(c.integrationId);
    if (integration === undefined || this.#monotonic() - integration.checkedAt >= this.#revalidateMs || hit.integrationUpdatedAt !== integration.rec.updatedAt) return undefined;
    return hit.target;
  }

  async of(c: ConnectionRecord): Promise<ProxyTarget> {
    const known = this.cached(c);
    if (known !== undefined) return known;
    const now = this.#monotonic();
    const hit = this.#entries.get(c.id);
    let integration = this.#integrations.get(c.integrationId);
    if (integration === undefined || now - integration.checkedAt >= this.#revalidateMs) {
      integration = { rec: await this.#d.integration(c.orgId, c.integrationId), checkedAt: now };
      if (this.#integrations.size >= this.#max) this.#integrations.clear();
      this.#integrations.set(c.integrationId, integration);
    }
    const values = JSON.stringify([c.params, c.providerValues]);
    if (hit !== undefined && hit.values === values && hit.integrationUpdatedAt === integration.rec.updatedAt) {
      hit.connection = c;
      return hit.target;
    }
    const target = this.#build(integration.rec, c);
    if (this.#entries.size >= this.#max) this.#entries.clear();
    this.#entries.set(c.id, { connection: c, values, integrationUpdatedAt: integration.rec.updatedAt, target });
    return target;
  }

  #build(rec: IntegrationRecord, c: ConnectionRecord): ProxyTarget {
    const resolved = this.#d.resolved(rec, { params: c.params, kept: c.providerValues });
    if (resolved.apiBaseUrls.length === 0 && resolved.definition.api.baseUrls.length > 0) {
      const names = resolved.definition.api.baseUrls.flatMap((u) => [...u.matchAll(/\{([a-z][a-z0-9_]*)\}/g)].map((m) => `{${m[1]}}`));
      throw new KeywayError('invalid_request', `This connection has no value for ${names.join(', ') || 'its API base URL'}, which ${resolved.definition.name}'s API base URL needs; reconnect it so the provider sends it.`);
    }
    if (resolved.apiBaseUrls.length === 0) {
      throw new KeywayError('invalid_request', `${resolved.definition.name} declares no API base URL, so Keyway has nowhere to forward to. For a custom provider, set "apiBaseUrl" on the integration.`);
    }
    const bases = resolved.apiBaseUrls.map((u) => {
      const url = this.#d.checkUrl(u, 'API base URL');
      return { url: u.replace(/\/+$/, ''), origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') };
    });
    return { bases, inject: resolved.definition.api.inject, headers: resolved.definition.api.headers ?? {}, credential: new CredentialMemo(), audit: new CallEventMemo() };
  }
}

/**
 * The base a call goes to: the first declared one, or the one the caller names in
 * `Keyway-Base-Url` (which must be one of the declared ones: nothing else is ever called).
 */
export function pickBase(target: ProxyTarget, requested: string | string[] | undefined): ApiBase {
  if (requested === undefined) return target.bases[0]!;
  const want = (Array.isArray(requested) ? requested[0] ?? '' : requested).trim().replace(/\/+$/, '');
  const base = target.bases.find((b) => b.url === want);
  if (!base) {
    throw new KeywayError('invalid_request', `Keyway-Base-Url must be one of this provider's API base URLs: ${target.bases.map((b) => b.url).join(', ')}.`);
  }
  return base;
}
