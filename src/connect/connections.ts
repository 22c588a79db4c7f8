import { isKeywayError } from '../core/errors.ts';
import type { Actor } from '../audit/index.ts';
import type { ConnectionRecord } from '../store/index.ts';
import { type NewConnectionInput, createCredentialConnection } from './credentials.ts';
import { type DisconnectOutcome, disconnect } from './disconnect.ts';
import type { CompleteDeps } from './session-end.ts';

/** Connections made without a browser, and disconnecting any connection. */
export class ConnectionService {
  readonly #d: CompleteDeps;
  constructor(deps: CompleteDeps) {
    this.#d = deps;
  }

  /** Client credentials (token fetched at once), API key or Basic. */
  create(orgId: string, actor: Actor, memberId: string | null, input: NewConnectionInput): Promise<ConnectionRecord> {
    return createCredentialConnection(this.#d, orgId, actor, memberId, input);
  }

  /** Disconnects every connection of an integration (a forced integration delete); returns how many. */
  async disconnectAll(orgId: string, integrationId: string, actor: Actor): Promise<number> {
    let n = 0;
    for (;;) {
      const page = await this.#d.store.connections.list(orgId, { integrationId }, { limit: 100 });
      if (page.data.length === 0) return n;
      for (const c of page.data) {
        if (await this.disconnectUnlessGone(c, actor)) n++;
      }
    }
  }

  /** Deletes the tokens at once, then revokes at the provider where it can (RFC 7009). */
  disconnect(conn: ConnectionRecord, actor: Actor): Promise<DisconnectOutcome> {
    return disconnect(this.#d, conn, actor);
  }

  /**
   * `disconnect` for a connection read from a list earlier: false when someone else disconnected
   * it meanwhile (their disconnect sent the event, audited and revoked).
   */
  async disconnectUnlessGone(conn: ConnectionRecord, actor: Actor): Promise<boolean> {
    try {
      await disconnect(this.#d, conn, actor);
      return true;
    } catch (e) {
      if (isKeywayError(e, 'not_found')) return false;
      throw e;
    }
  }
}
