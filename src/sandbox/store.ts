/**
 * In-memory storage for the sandbox's oidc-provider: one instance per sandbox, no size limit
 * (oidc-provider's own memory adapter is a module-wide LRU of 1,000 entries shared by every
 * provider in the process, which can evict live tokens under load and prints a warning).
 *
 * Besides the adapter contract it can list an account's grants, which `revokeAccountGrants` needs.
 *
 * @see https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { errors } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  /** epoch milliseconds; undefined = no expiry */
  expiresAt: number | undefined;
}

/** Models whose entries belong to a grant and die with it (revokeByGrantId). */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

const SWEEP_EVERY = 500;

export class SandboxStore {
  readonly #entries = new Map<string, Entry>();
  /** grantId -> keys of the grantable entries issued under it */
  readonly #grantMembers = new Map<string, Set<string>>();
  readonly #uidIndex = new Map<string, string>();
  readonly #userCodeIndex = new Map<string, string>();
  readonly #now: () => number;
  #writes = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Adapter factory for oidc-provider's `adapter` configuration. */
  readonly adapterFor = (model: string): Adapter => {
    const key = (id: string): string => `${model}:${id}`;
    return {
      upsert: async (id, payload, expiresIn) => this.#upsert(model, id, payload, expiresIn),
      find: async (id) => this.#get(key(id)),
      findByUid: async (uid) => {
        const id = this.#uidIndex.get(uid);
        return id === undefined ? undefined : this.#get(key(id));
      },
      findByUserCode: async (userCode) => {
        const id = this.#userCodeIndex.get(userCode);
        return id === undefined ? undefined : this.#get(key(id));
      },
      consume: async (id) => this.#consume(key(id)),
      destroy: async (id) => this.#delete(key(id)),
      revokeByGrantId: async (grantId) => this.revokeGrant(grantId),
    };
  };

  /** Ids of the live grants of an account. */
  grantIdsOf(accountId: string): string[] {
    const ids: string[] = [];
    for (const [key] of this.#entries) {
      if (!key.startsWith('Grant:')) continue;
      const payload = this.#get(key);
      if (payload?.accountId === accountId) ids.push(key.slice('Grant:'.length));
    }
    return ids;
  }

  /** Deletes a grant and every token, code and device code issued under it. */
  revokeGrant(grantId: string): void {
    for (const member of this.#grantMembers.get(grantId) ?? []) this.#delete(member);
    this.#grantMembers.delete(grantId);
    this.#delete(`Grant:${grantId}`);
  }

  #get(key: string): AdapterPayload | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.#now()) {
      this.#delete(key);
      return undefined;
    }
    return entry.payload;
  }

  /**
   * Marks a code or refresh token used, atomically: a second use (two requests racing with the same
   * single-use refresh token) fails like oidc-provider's own reuse detection, revoking the grant.
   * @see RFC 9700 §4.14.2 https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
   */
  #consume(key: string): void {
    const payload = this.#get(key);
    if (!payload) return;
    if (payload.consumed) {
      if (typeof payload.grantId === 'string') this.revokeGrant(payload.grantId);
      throw new errors.InvalidGrant('grant already used');
    }
    payload.consumed = Math.floor(this.#now() / 1000);
  }

  #upsert(model: string, id: string, payload: AdapterPayload, expiresIn?: number): void {
    const key = `${model}:${id}`;
    this.#delete(key);
    const expiresAt = typeof expiresIn === 'number' ? this.#now() + expiresIn * 1000 : undefined;
    this.#entries.set(key, { payload, expiresAt });
    if (model === 'Session' && typeof payload.uid === 'string') this.#uidIndex.set(payload.uid, id);
    if (typeof payload.userCode === 'string') this.#userCodeIndex.set(payload.userCode, id);
    if (GRANTABLE.has(model) && typeof payload.grantId === 'string') {
      let members = this.#grantMembers.get(payload.grantId);
      if (!members) this.#grantMembers.set(payload.grantId, (members = new Set()));
      members.add(key);
    }
    if (++this.#writes % SWEEP_EVERY === 0) this.#sweep();
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    const { payload } = entry;
    const id = key.slice(key.indexOf(':') + 1);
    if (typeof payload.uid === 'string' && this.#uidIndex.get(payload.uid) === id) {
      this.#uidIndex.delete(payload.uid);
    }
    if (typeof payload.userCode === 'string' && this.#userCodeIndex.get(payload.userCode) === id) {
      this.#userCodeIndex.delete(payload.userCode);
    }
    if (typeof payload.grantId === 'string') {
      const members = this.#grantMembers.get(payload.grantId);
      members?.delete(key);
      if (members?.size === 0) this.#grantMembers.delete(payload.grantId);
    }
  }

  #sweep(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.#delete(key);
    }
  }
}
