import { type Signal, type Transport, seg } from './http.ts';
import { everyItem } from './pages.ts';
import type {
  ApiKey, AuditEntry, AuditFilter, CreatedApiKey, Integration, IntegrationChange, NewApiKey, NewIntegration, Page, PageParams, Provider, RolledApiKey,
} from './types.ts';


/** `/v1/providers`: the catalog integrations are made from. */
export class Providers {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** The catalog, optionally narrowed by words in the name or id, or by category. */
  async list(filter: { search?: string; category?: string } = {}, opts: Signal = {}): Promise<Page<Provider>> {
    return this.#t.call('GET', '/v1/providers', { query: { ...filter }, signal: opts.signal });
  }

  async get(id: string, opts: Signal = {}): Promise<Provider> {
    return this.#t.call('GET', `/v1/providers/${seg(id)}`, { signal: opts.signal });
  }
}

/** `/v1/integrations`: what can be connected (setting them up: owners and admins). */
export class Integrations {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  async list(opts: Signal = {}): Promise<Page<Integration>> {
    return this.#t.call('GET', '/v1/integrations', { signal: opts.signal });
  }

  async get(id: string, opts: Signal = {}): Promise<Integration> {
    return this.#t.call('GET', `/v1/integrations/${seg(id)}`, { signal: opts.signal });
  }

  /** Add one; register its `redirectUri` at the provider as your OAuth app's callback URL. */
  async create(input: NewIntegration, opts: Signal = {}): Promise<Integration> {
    return this.#t.call('POST', '/v1/integrations', { body: input, signal: opts.signal });
  }

  /** A new client secret is used at once; no connection needs reconnecting. */
  async update(id: string, change: IntegrationChange, opts: Signal = {}): Promise<Integration> {
    return this.#t.call('PATCH', `/v1/integrations/${seg(id)}`, { body: change, signal: opts.signal });
  }

  /** Refused (409) while it has connections, unless `force`, which disconnects each (revoked at the provider). */
  async delete(id: string, opts: Signal & { force?: boolean } = {}): Promise<void> {
    await this.#t.call<undefined>('DELETE', `/v1/integrations/${seg(id)}`, { query: { force: opts.force ? 'true' : undefined }, signal: opts.signal });
  }
}

/** `/v1/api-keys`: keys for apps and assistants (a key that may manage). */
export class ApiKeys {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** A new key for the calling member; `key` is in this answer only, never shown again. */
  async create(input: NewApiKey, opts: Signal = {}): Promise<CreatedApiKey> {
    return this.#t.call('POST', '/v1/api-keys', { body: input, signal: opts.signal });
  }

  async list(page: PageParams = {}, opts: Signal = {}): Promise<Page<ApiKey>> {
    return this.#t.call('GET', '/v1/api-keys', { query: { ...page }, signal: opts.signal });
  }

  all(opts: Signal = {}): AsyncGenerator<ApiKey, void, undefined> {
    return everyItem((p: PageParams) => this.list(p, opts), {});
  }

  async get(id: string, opts: Signal = {}): Promise<ApiKey> {
    return this.#t.call('GET', `/v1/api-keys/${seg(id)}`, { signal: opts.signal });
  }

  /**
   * Replaces a key (your own) with a new one: same name, scope, rate limit and lifetime. The old key
   * stops at once, or keeps working `graceMinutes` more (up to 10080, a week) while apps move over.
   */
  async roll(id: string, opts: { graceMinutes?: number; signal?: AbortSignal } = {}): Promise<RolledApiKey> {
    const body = opts.graceMinutes === undefined ? {} : { graceMinutes: opts.graceMinutes };
    return this.#t.call('POST', `/v1/api-keys/${seg(id)}/roll`, { body, signal: opts.signal });
  }

  /** Refused from then on by every Keyway process, within a second. Revoking a revoked key is no error. */
  async revoke(id: string, opts: Signal = {}): Promise<void> {
    await this.#t.call<undefined>('DELETE', `/v1/api-keys/${seg(id)}`, { signal: opts.signal });
  }
}

/** `/v1/audit`: every access, newest first (a key that may manage). */
export class Audit {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  async list(filter: AuditFilter = {}, opts: Signal = {}): Promise<Page<AuditEntry>> {
    return this.#t.call('GET', '/v1/audit', { query: { ...filter }, signal: opts.signal });
  }

  all(filter: Omit<AuditFilter, 'cursor'> = {}, opts: Signal = {}): AsyncGenerator<AuditEntry, void, undefined> {
    return everyItem((f: AuditFilter) => this.list(f, opts), filter);
  }
}
