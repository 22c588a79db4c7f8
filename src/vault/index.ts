/**
 * The vault: envelope encryption for every secret Keyway stores.
 * master key(s) → a data key per organization (stored wrapped) → a key per record and field (HKDF)
 * → AES-256-GCM bound to org, record and field, in an explicit, versioned envelope.
 */
export { type CreateVaultDeps, type SecretContext, type Vault, createVault } from './vault.ts';
export {
  type LoadMasterKeysOptions, type MasterKey, type MasterKeySource, type MasterKeys,
  MASTER_KEY_BYTES, MASTER_KEY_FILE, createMasterKeys, loadMasterKeys, masterKeyId,
} from './master-key.ts';
export { type DataKeyRepository, type WrappedDataKey } from './data-key-wrap.ts';
export { dataKeysByMasterKey, missingMasterKey, refuseMisfitMasterKeys } from './key-ring.ts';
export {
  type Envelope, type KeyKind, type ParseEnvelopeOptions, ENVELOPE_ALG, ENVELOPE_VERSION, formatEnvelope, parseEnvelope,
} from './envelope.ts';
