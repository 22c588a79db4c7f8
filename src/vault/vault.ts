import type { Clock } from '../core/clock.ts';
import { KeywayError } from '../core/errors.ts';
import type { Random } from '../core/random.ts';
import { open, randomNonce, seal } from './aead.ts';
import type { DataKeyRepository } from './data-key-wrap.ts';
import { DataKeyRing } from './data-keys.ts';
import { formatEnvelope, parseEnvelope } from './envelope.ts';
import type { MasterKeys } from './master-key.ts';
import { RecordKeyCache } from './record-keys.ts';

/** Where a secret lives. All three are bound into the ciphertext as associated data. */
export interface SecretContext {
  orgId: string;
  recordId: string;
  /** e.g. `access_token`, `refresh_token`, `client_secret`, `pkce_verifier`. */
  field: string;
}

export interface Vault {
  /** Seals `plaintext` for this org, record and field; returns an envelope string to store. */
  encrypt(ctx: SecretContext, plaintext: string): Promise<string>;
  /** Opens an envelope; a vault_error if it belongs to another org, record or field, or was altered. */
  decrypt(ctx: SecretContext, envelope: string): Promise<string>;
  /**
   * True when the envelope's data key is not the org's newest one (decrypt and encrypt again), or its
   * data key is wrapped under a non-active master key (`rewrapDataKeys()` fixes that for every record).
   */
  needsReEncryption(orgId: string, envelope: string): Promise<boolean>;
  /**
   * Re-wraps every data key that is wrapped under a non-active master key with the active one.
   * Master-key rotation without downtime: (1) run every process with the new key as
   * KEYWAY_MASTER_KEY and the old one in KEYWAY_PREVIOUS_MASTER_KEYS; (2) call this once; (3) drop
   * the old key. Secrets stay encrypted under the same data keys. Returns how many were re-wrapped.
   */
  rewrapDataKeys(): Promise<number>;
  /** Creates a fresh data key for an org; later encryptions use it, old envelopes still decrypt. Returns its id. */
  rotateDataKey(orgId: string): Promise<string>;
}

export interface CreateVaultDeps {
  masterKeys: MasterKeys;
  dataKeys: DataKeyRepository;
  random: Random;
  clock: Clock;
  /** How long an org's data-key list is trusted before re-reading it (rotations by other processes). Default 60 s. */
  keyListTtlMs?: number;
  /** Derived per-record keys kept in memory. Default 10,000. */
  recordKeyCacheSize?: number;
}

const MAX_CONTEXT_CHARS = 256;

/**
 * Envelope encryption: master key → a data key per organization (stored wrapped) → a key per record
 * and field (HKDF) → AES-256-GCM with `${orgId}\0${recordId}\0${field}` as associated data, so a
 * ciphertext copied to another row, field or organization fails to decrypt.
 */
export function createVault(deps: CreateVaultDeps): Vault {
  const { masterKeys, random } = deps;
  if (masterKeys?.active?.key === undefined || !masterKeys.all.has(masterKeys.active.kid)) {
    throw new KeywayError('vault_error', 'the vault cannot start without an active master key');
  }
  const ring = new DataKeyRing({
    masterKeys, repo: deps.dataKeys, random, clock: deps.clock, listTtlMs: deps.keyListTtlMs ?? 60_000,
  });
  const recordKeys = new RecordKeyCache(deps.recordKeyCacheSize);

  return {
    async encrypt(ctx, plaintext) {
      checkContext(ctx);
      if (typeof plaintext !== 'string') throw new KeywayError('vault_error', 'only strings can be encrypted');
      const dataKey = await ring.current(ctx.orgId);
      const key = recordKeys.get(dataKey.id, dataKey.key, ctx.recordId, ctx.field);
      const nonce = randomNonce(random);
      const bytes = Buffer.from(plaintext, 'utf8');
      try {
        return formatEnvelope({ kid: dataKey.id, nonce, ct: seal(key, nonce, bytes, aad(ctx)) });
      } finally {
        bytes.fill(0);
      }
    },

    async decrypt(ctx, envelope) {
      checkContext(ctx);
      const parsed = parseEnvelope(envelope, { kind: 'dk', what: `secret ${ctx.field} of record ${ctx.recordId}` });
      const dataKey = await ring.key(ctx.orgId, parsed.kid);
      const key = recordKeys.get(parsed.kid, dataKey, ctx.recordId, ctx.field);
      let bytes: Buffer;
      try {
        bytes = open(key, parsed.nonce, parsed.ct, aad(ctx));
      } catch (cause) {
        throw new KeywayError('vault_error',
          `could not decrypt secret ${ctx.field} of record ${ctx.recordId} (moved between records or wrong master key)`,
          { cause });
      }
      try {
        return bytes.toString('utf8');
      } finally {
        bytes.fill(0);
      }
    },

    async needsReEncryption(orgId, envelope) {
      checkPart('orgId', orgId);
      const parsed = parseEnvelope(envelope, { kind: 'dk' });
      const { newest, masterKid } = await ring.describe(orgId, parsed.kid);
      return !newest || masterKid !== masterKeys.active.kid;
    },

    rewrapDataKeys: () => ring.rewrapAll(),

    async rotateDataKey(orgId) {
      checkPart('orgId', orgId);
      return ring.rotate(orgId);
    },
  };
}

/** The associated data; NUL cannot occur in any part (checkContext), so the encoding is unambiguous. */
function aad(ctx: SecretContext): Uint8Array {
  return Buffer.from(`${ctx.orgId}\u0000${ctx.recordId}\u0000${ctx.field}`, 'utf8');
}

function checkContext(ctx: SecretContext): void {
  if (typeof ctx !== 'object' || ctx === null) throw new KeywayError('vault_error', 'a secret context is required');
  checkPart('orgId', ctx.orgId);
  checkPart('recordId', ctx.recordId);
  checkPart('field', ctx.field);
}

function checkPart(name: string, value: unknown): void {
  if (typeof value !== 'string' || value === '' || value.length > MAX_CONTEXT_CHARS || value.includes('\u0000')) {
    throw new KeywayError('vault_error',
      `secret context ${name} must be a non-empty string of at most ${MAX_CONTEXT_CHARS} characters without NUL`);
  }
}
