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
        await disconnect(this.#d, c, actor);
        n++;
      }
    }
  }

  /** Deletes the tokens at once, then revokes at the provider where it can (RFC 7009). */
  disconnect(conn: ConnectionRecord, actor: Actor): Promise<DisconnectOutcome> {
    return disconnect(this.#d, conn, actor);
  }
}
