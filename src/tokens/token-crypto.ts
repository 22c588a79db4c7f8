import type { ConnectionRecord } from '../store/index.ts';

/** The vault as the token service needs it: secrets bound to their connection and field. */
export interface SecretSealer {
  encrypt(ctx: { orgId: string; recordId: string; field: string }, plaintext: string): Promise<string>;
  decrypt(ctx: { orgId: string; recordId: string; field: string }, envelope: string): Promise<string>;
}

export type TokenField = 'access_token' | 'refresh_token';

export class TokenCrypto {
  readonly #vault: SecretSealer;
  constructor(vault: SecretSealer) {
    this.#vault = vault;
  }
  seal(c: Pick<ConnectionRecord, 'orgId' | 'id'>, field: TokenField, value: string): Promise<string> {
    return this.#vault.encrypt({ orgId: c.orgId, recordId: c.id, field }, value);
  }
  open(c: Pick<ConnectionRecord, 'orgId' | 'id'>, field: TokenField, envelope: string): Promise<string> {
    return this.#vault.decrypt({ orgId: c.orgId, recordId: c.id, field }, envelope);
  }
}
