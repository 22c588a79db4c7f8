import { type Clock, iso } from '../core/clock.ts';
import { SingleFlight } from '../core/single-flight.ts';
import { KeywayError } from '../core/errors.ts';
import { retryWhileStoreUnavailable } from '../core/retry.ts';
import { newId } from '../core/ids.ts';
import { type Random, randomToken } from '../core/random.ts';
import type { Outbound } from '../outbound/index.ts';
import type { Page, PageResult, Store, WebhookDeliveryRecord, WebhookEndpointRecord } from '../store/index.ts';
import type { SecretSealer } from '../tokens/index.ts';
import { nextDelay } from './backoff.ts';
import { WEBHOOK_EVENTS, type WebhookEventType } from './events.ts';
import { sign } from './signing.ts';

export interface WebhookDeps {
  store: Store;
  vault: SecretSealer;
  outbound: Outbound;
  clock: Clock;
  random: Random;
  processId: string;
  /** Each POST's timeout. */
  timeoutMs?: number;
  onError?: (e: unknown) => void;
}

export interface NewEndpoint {
  url: string;
  events?: string[] | undefined;
  description?: string | undefined;
}

const CLAIM_MS = 60_000;
/** How long an event the database cannot take is tried again before it is given up (and logged). */
const EMIT_RETRY_MS = 60_000;
const BATCH = 50;

/**
 * Webhooks: endpoints an organization registers, events queued as deliveries in the store (so a
 * restart loses none and several processes share the work), sent signed, retried with backoff for
 * a day, each attempt kept in a delivery log that can be resent from.
 */
export class WebhookService {
  readonly #d: WebhookDeps;
  readonly #secrets = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;
  readonly #flight = new SingleFlight(() => this.#deliverDue());

  constructor(deps: WebhookDeps) {
    this.#d = deps;
  }

  async register(orgId: string, input: NewEndpoint): Promise<{ endpoint: WebhookEndpointRecord; secret: string }> {
    const url = this.#d.outbound.checkUrl(input.url, 'webhook URL').toString();
    const events = input.events ?? [];
    const unknown = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
    if (unknown.length > 0) {
      throw new KeywayError('invalid_request', `Unknown webhook event ${unknown.map((e) => `"${e}"`).join(', ')}; known: ${WEBHOOK_EVENTS.join(', ')}. Omit "events" to receive all.`);
    }
    const id = newId('webhook', this.#d.random);
    const secret = `whsec_${randomToken(this.#d.random, 32)}`;
    const endpoint: WebhookEndpointRecord = {
      id, orgId, url, events, description: input.description ?? null, createdAt: this.#d.clock.now(),
      secretEnc: await this.#d.vault.encrypt({ orgId, recordId: id, field: 'webhook_secret' }, secret),
    };
    await this.#d.store.webhooks.insertEndpoint(endpoint);
    return { endpoint, secret };
  }

  list(orgId: string): Promise<WebhookEndpointRecord[]> {
    return this.#d.store.webhooks.listEndpoints(orgId);
  }

  async get(orgId: string, id: string): Promise<WebhookEndpointRecord> {
    const e = await this.#d.store.webhooks.getEndpoint(orgId, id);
    if (!e) throw new KeywayError('not_found', `No webhook endpoint ${id}.`);
    return e;
  }

  async remove(orgId: string, id: string): Promise<void> {
    await this.get(orgId, id);
    await this.#d.store.webhooks.deleteEndpoint(orgId, id);
    this.#secrets.delete(id);
  }

  async deliveries(orgId: string, endpointId: string, page: Page): Promise<PageResult<WebhookDeliveryRecord>> {
    await this.get(orgId, endpointId);
    return this.#d.store.webhooks.listDeliveries(orgId, endpointId, page);
  }

  /** Sends a delivery again now, whatever became of it (the same event id and body, freshly signed). */
  async resend(orgId: string, endpointId: string, deliveryId: string): Promise<WebhookDeliveryRecord> {
    const d = await this.#d.store.webhooks.getDelivery(orgId, deliveryId);
    if (!d || d.endpointId !== endpointId) throw new KeywayError('not_found', `No delivery ${deliveryId} for webhook ${endpointId}.`);
    await this.#d.store.webhooks.requeue(orgId, deliveryId, this.#d.clock.now());
    this.kick();
    return { ...d, status: 'pending' };
  }

  /** Queues an event for every endpoint of the organization that subscribes to it. Never throws. */
  async emit(orgId: string, type: WebhookEventType, data: Record<string, unknown>): Promise<void> {
    const now = this.#d.clock.now();
    const eventId = newId('event', this.#d.random);
    const payload = JSON.stringify({ id: eventId, type, createdAt: iso(now), data });
    // A database that cannot take the event now (restarting, locked, full) is tried again for a
    // while: the change it reports has already happened, and is not reported again.
    const until = performance.now() + EMIT_RETRY_MS;
    try {
      await retryWhileStoreUnavailable(async () => {
        const endpoints = (await this.#d.store.webhooks.listEndpoints(orgId)).filter((e) => e.events.length === 0 || e.events.includes(type));
        if (endpoints.length === 0) return;
        await this.#d.store.webhooks.insertDeliveries(endpoints.map((e) => ({
          id: newId('webhookDelivery', this.#d.random), orgId, endpointId: e.id, eventId, eventType: type, payload,
          status: 'pending', attempts: 0, nextAttemptAt: now, lastStatusCode: null, lastError: null, createdAt: now, deliveredAt: null,
        })));
        this.kick();
      }, { until: () => until, firstMs: 250, maxMs: 5000, unref: true });
    } catch (e) {
      this.#d.onError?.(e);
    }
  }

  /** Sends every due delivery once (claimed, so other processes skip them). Returns how many were tried. */
  deliverDue(): Promise<number> {
    return this.#flight.run();
  }

  async #deliverDue(): Promise<number> {
    const now = this.#d.clock.now();
    const due = await this.#d.store.webhooks.claimDue(now, BATCH, this.#d.processId, CLAIM_MS);
    await Promise.all(due.map((d) => this.#attempt(d)));
    return due.length;
  }

  async #attempt(d: WebhookDeliveryRecord): Promise<void> {
    const { store, clock } = this.#d;
    const endpoint = await store.webhooks.getEndpoint(d.orgId, d.endpointId);
    if (!endpoint) return;
    const attempts = d.attempts + 1;
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const secret = await this.#secret(endpoint);
      const ts = Math.floor(clock.now() / 1000);
      const res = await this.#d.outbound.fetch(endpoint.url, {
        method: 'POST', redirect: 'manual', signal: AbortSignal.timeout(this.#d.timeoutMs ?? 10_000),
        headers: {
          'content-type': 'application/json', 'user-agent': 'Keyway-Webhooks/1',
          'keyway-event': d.eventType, 'keyway-delivery': d.id, 'keyway-signature': sign(secret, ts, d.payload),
        },
        body: d.payload,
      });
      statusCode = res.status;
      await res.body?.cancel();
      if (res.status < 200 || res.status >= 300) error = `The endpoint answered HTTP ${res.status}.`;
    } catch (e) {
      error = e instanceof KeywayError ? e.message : e instanceof Error && e.name === 'TimeoutError' ? 'The endpoint did not answer in time.' : 'The endpoint could not be reached.';
    }
    const now = clock.now();
    if (error === null) {
      await store.webhooks.finishAttempt(d.id, { status: 'delivered', attempts, lastStatusCode: statusCode, lastError: null, deliveredAt: now, nextAttemptAt: null });
      return;
    }
    const delay = nextDelay(attempts, this.#d.random.bytes(1)[0]! / 255);
    await store.webhooks.finishAttempt(d.id, delay === null
      ? { status: 'failed', attempts, lastStatusCode: statusCode, lastError: `${error} Gave up after ${attempts} attempts over a day; resend it from the delivery log.`, nextAttemptAt: null }
      : { attempts, lastStatusCode: statusCode, lastError: error, nextAttemptAt: now + delay });
  }

  async #secret(e: WebhookEndpointRecord): Promise<string> {
    let s = this.#secrets.get(e.id);
    if (s === undefined) {
      s = await this.#d.vault.decrypt({ orgId: e.orgId, recordId: e.id, field: 'webhook_secret' }, e.secretEnc);
      this.#secrets.set(e.id, s);
    }
    return s;
  }

  /** Delivers soon (after an emit or a resend), off the caller's path. */
  kick(): void {
    setImmediate(() => void this.deliverDue().catch((e: unknown) => this.#d.onError?.(e)));
  }

  /** Polls for due retries every `everyMs` (real time; the due check uses the injected clock). */
  start(everyMs = 1000): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.deliverDue().catch((e: unknown) => this.#d.onError?.(e)), everyMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#flight.settled();
  }
}
