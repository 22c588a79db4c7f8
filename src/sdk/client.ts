import { ApiKeys, Audit, Integrations, Providers } from './admin.ts';
import { ConnectSessions, Connections } from './connections.ts';
import { Gateway, type ProxyInit } from './gateway.ts';
import { type KeywayOptions, Transport } from './http.ts';
import { Invites, Members, Webhooks } from './team.ts';
import type { Me } from './types.ts';

/**
 * Keyway from an app: `new Keyway({ url, apiKey })`. Call a provider through a connection with
 * `proxy()` (the token never leaves Keyway); connect accounts, list connections, manage keys and
 * read the audit log, and run the organization (members, invites, webhooks) with the groups below. Each method is one API call and throws
 * `KeywayApiError` (Keyway's code, message, status, retryAfter) or `KeywayUnreachableError`.
 */
export class Keyway {
  /** Keyway's address, without a trailing slash. */
  readonly url: string;
  readonly providers: Providers;
  readonly integrations: Integrations;
  readonly connections: Connections;
  readonly connectSessions: ConnectSessions;
  readonly apiKeys: ApiKeys;
  readonly audit: Audit;
  readonly gateway: Gateway;
  readonly members: Members;
  readonly invites: Invites;
  readonly webhooks: Webhooks;
  readonly #t: Transport;

  constructor(options: KeywayOptions) {
    const transport = new Transport(options);
    this.url = transport.url;
    this.providers = new Providers(transport);
    this.integrations = new Integrations(transport);
    this.connections = new Connections(transport);
    this.connectSessions = new ConnectSessions(transport);
    this.apiKeys = new ApiKeys(transport);
    this.audit = new Audit(transport);
    this.gateway = new Gateway(transport);
    this.members = new Members(transport);
    this.invites = new Invites(transport);
    this.webhooks = new Webhooks(transport);
    this.#t = transport;
  }

  /** Who is calling: the key's member, their role and organization. */
  async me(opts: { signal?: AbortSignal } = {}): Promise<Me> {
    return this.#t.call('GET', '/v1/me', { signal: opts.signal });
  }

  /**
   * Calls the provider's API through a connection: `keyway.proxy(conn, 'user/repos', { query: { per_page: 5 } })`.
   * The provider's answer as a `Response`; Keyway's own refusals throw. Same as `gateway.call`.
   */
  proxy(connection: string, path: string, init?: ProxyInit): Promise<Response> {
    return this.gateway.call(connection, path, init);
  }
}
