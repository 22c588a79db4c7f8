import { type Signal, type Transport, seg } from './http.ts';
import { everyItem } from './pages.ts';
import type {
  CreatedInvite, CreatedWebhookEndpoint, Invite, Member, NewWebhookEndpoint, Page, PageParams, Role, WebhookDelivery, WebhookEndpoint,
} from './types.ts';


/** `/v1/members`: the organization's people (changing them: owners and admins). */
export class Members {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  async list(opts: Signal = {}): Promise<Page<Member>> {
    return this.#t.call('GET', '/v1/members', { signal: opts.signal });
  }

  /** A current or former member (a former one still names who authorized a connection). */
  async get(id: string, opts: Signal = {}): Promise<Member> {
    return this.#t.call('GET', `/v1/members/${seg(id)}`, { signal: opts.signal });
  }

  /** Only owners make or change owners; the last owner stays one. */
  async setRole(id: string, role: Role, opts: Signal = {}): Promise<Member> {
    return this.#t.call('PATCH', `/v1/members/${seg(id)}`, { body: { role }, signal: opts.signal });
  }

  /** Remove a member, or leave (your own id): their keys and sessions end at once, their personal connections are disconnected. */
  async remove(id: string, opts: Signal = {}): Promise<void> {
    await this.#t.call<undefined>('DELETE', `/v1/members/${seg(id)}`, { signal: opts.signal });
  }
}

/** `/v1/invites`: owners and admins invite people by email. */
export class Invites {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** The single-use link (7 days) is in this answer only. */
  async create(input: { email: string; role?: Role }, opts: Signal = {}): Promise<CreatedInvite> {
    return this.#t.call('POST', '/v1/invites', { body: input, signal: opts.signal });
  }

  /** Invites not yet accepted or withdrawn (never their links). */
  async list(opts: Signal = {}): Promise<Page<Invite>> {
    return this.#t.call('GET', '/v1/invites', { signal: opts.signal });
  }

  /** Withdraw: its link stops working. */
  async revoke(id: string, opts: Signal = {}): Promise<void> {
    await this.#t.call<undefined>('DELETE', `/v1/invites/${seg(id)}`, { signal: opts.signal });
  }
}

/** `/v1/webhooks`: endpoints told of connection changes (owners and admins). */
export class Webhooks {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** The signing secret is in this answer only (docs/webhooks.md says how to verify a delivery). */
  async create(input: NewWebhookEndpoint, opts: Signal = {}): Promise<CreatedWebhookEndpoint> {
    return this.#t.call('POST', '/v1/webhooks', { body: input, signal: opts.signal });
  }

  async list(opts: Signal = {}): Promise<Page<WebhookEndpoint>> {
    return this.#t.call('GET', '/v1/webhooks', { signal: opts.signal });
  }

  async delete(id: string, opts: Signal = {}): Promise<void> {
    await this.#t.call<undefined>('DELETE', `/v1/webhooks/${seg(id)}`, { signal: opts.signal });
  }

  /** The endpoint's delivery log, newest first. */
  async deliveries(id: string, page: PageParams = {}, opts: Signal = {}): Promise<Page<WebhookDelivery>> {
    return this.#t.call('GET', `/v1/webhooks/${seg(id)}/deliveries`, { query: { ...page }, signal: opts.signal });
  }

  allDeliveries(id: string, opts: Signal = {}): AsyncGenerator<WebhookDelivery, void, undefined> {
    return everyItem((p: PageParams) => this.deliveries(id, p, opts), {});
  }

  /** Send a delivery again now. */
  async resend(id: string, delivery: string, opts: Signal = {}): Promise<WebhookDelivery> {
    return this.#t.call('POST', `/v1/webhooks/${seg(id)}/deliveries/${seg(delivery)}/resend`, { signal: opts.signal });
  }
}
