import { KeywayWaitTimeout } from './errors.ts';
import { type CallOptions, type Signal, type Transport, seg } from './http.ts';
import { everyItem } from './pages.ts';
import type {
  AccessToken, ConnectSession, Connection, ConnectionChange, ConnectionFilter, NewConnectSession, NewConnection, Page,
  StartedConnectSession,
} from './types.ts';


/** `/v1/connections`: the connections the key may use. Never a token, except from `token()`. */
export class Connections {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** One page of connections (filter by integration, status or external id). */
  async list(filter: ConnectionFilter = {}, opts: Signal = {}): Promise<Page<Connection>> {
    return this.#t.call('GET', '/v1/connections', { query: { ...filter }, signal: opts.signal });
  }

  /** Every connection that matches, page after page: `for await (const c of keyway.connections.all())`. */
  all(filter: Omit<ConnectionFilter, 'cursor'> = {}, opts: Signal = {}): AsyncGenerator<Connection, void, undefined> {
    return everyItem((f: ConnectionFilter) => this.list(f, opts), filter);
  }

  async get(id: string, opts: Signal = {}): Promise<Connection> {
    return this.#t.call('GET', `/v1/connections/${seg(id)}`, { signal: opts.signal });
  }

  /** A connection without a browser: client credentials, an API key, Basic, or tokens issued elsewhere. */
  async create(input: NewConnection, opts: Signal = {}): Promise<Connection> {
    return this.#t.call('POST', '/v1/connections', { body: input, signal: opts.signal });
  }

  /** Rename it, or share it with the organization (`level` use or manage) or make it personal again. */
  async update(id: string, change: ConnectionChange, opts: Signal = {}): Promise<Connection> {
    return this.#t.call('PATCH', `/v1/connections/${seg(id)}`, { body: change, signal: opts.signal });
  }

  /** Disconnect: tokens deleted at once, revoked at the provider where it can be. */
  async delete(id: string, opts: Signal = {}): Promise<void> {
    await this.#t.call<undefined>('DELETE', `/v1/connections/${seg(id)}`, { signal: opts.signal });
  }

  /** Refresh the token now (client credentials: a new one). */
  async refresh(id: string, opts: Signal = {}): Promise<Connection> {
    return this.#t.call('POST', `/v1/connections/${seg(id)}/refresh`, { signal: opts.signal });
  }

  /** Re-authenticate: a connect session whose link (or code) replaces this connection's tokens. */
  async reauthorize(id: string, input: { grant?: NewConnectSession['grant']; scopes?: string[] } = {}, opts: Signal = {}): Promise<StartedConnectSession & { transfersOwnership: boolean }> {
    return this.#t.call('POST', `/v1/connections/${seg(id)}/reauthorize`, { body: input, signal: opts.signal });
  }

  /**
   * A fresh access token (refreshed first when it is about to expire). Only the connection's owner,
   * with a key that may read tokens; prefer `keyway.proxy(…)`, which never hands the token out.
   */
  async token(id: string, opts: Signal = {}): Promise<AccessToken> {
    return this.#t.call('GET', `/v1/connections/${seg(id)}/token`, { signal: opts.signal });
  }
}

export interface WaitOptions {
  /** How often to ask Keyway, in ms (default 1000, at least 100). */
  intervalMs?: number;
  /** Give up after this many ms (default: until the session ends; sessions expire after 30 minutes). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** `/v1/connect-sessions`: connecting a person's account. */
export class ConnectSessions {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** Start: `connectUrl` to open in the person's browser, or (`grant: 'device_code'`) a code and where to enter it. */
  async create(input: NewConnectSession, opts: Signal = {}): Promise<StartedConnectSession> {
    return this.#t.call('POST', '/v1/connect-sessions', { body: input, signal: opts.signal });
  }

  async get(id: string, opts: Signal = {}): Promise<ConnectSession> {
    return this.#t.call('GET', `/v1/connect-sessions/${seg(id)}`, { signal: opts.signal });
  }

  /**
   * Asks until the session is no longer pending and returns it: `status` is then `connected` (with
   * `connection`), `denied`, `expired` or `failed` (with `error`). Throws `KeywayWaitTimeout` past `timeoutMs`.
   */
  async wait(id: string, opts: WaitOptions = {}): Promise<ConnectSession> {
    const interval = Math.max(100, opts.intervalMs ?? 1000);
    const deadline = opts.timeoutMs === undefined ? Infinity : performance.now() + opts.timeoutMs;
    const call: CallOptions = { signal: opts.signal };
    for (;;) {
      const s = await this.#t.call<ConnectSession>('GET', `/v1/connect-sessions/${seg(id)}`, call);
      if (s.status !== 'pending') return s;
      const left = deadline - performance.now();
      if (left <= 0) throw new KeywayWaitTimeout(id, opts.timeoutMs ?? 0);
      await sleep(Math.min(interval, left), opts.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const done = (): void => {
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const stop = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', stop, { once: true });
  });
}
