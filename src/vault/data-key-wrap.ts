import { type KeyObject, createSecretKey } from 'node:crypto';
import { KeywayError } from '../core/errors.ts';
import type { Random } from '../core/random.ts';
import { open, randomNonce, seal } from './aead.ts';
import { formatEnvelope, parseEnvelope } from './envelope.ts';
import type { MasterKey, MasterKeys } from './master-key.ts';

export const DATA_KEY_BYTES = 32;

/** A data key as stored: never in the clear, always wrapped under a master key. */
export interface WrappedDataKey {
  id: string;
  orgId: string;
  /** The master key `wrapped` is sealed under (also the envelope's kid; a column so rotation can find it). */
  masterKid: string;
  /** A vault envelope (`kid` = masterKid) holding the 32-byte data key. */
  wrapped: string;
  /** ISO-8601; the newest key of an organization seals new secrets. */
  createdAt: string;
}

/** What the vault needs from the store. The vault never imports the store; the store implements this. */
export interface DataKeyRepository {
  listDataKeys(orgId: string): Promise<WrappedDataKey[]>;
  /** May throw if a concurrent process inserted first; the vault then re-lists. */
  insertDataKey(key: WrappedDataKey): Promise<void>;
  updateDataKeyWrapping(id: string, masterKid: string, wrapped: string): Promise<void>;
  listAllDataKeys(): Promise<WrappedDataKey[]>;
}

/** Binds a wrapped data key to its organization and id: a wrapped key copied to another row fails to unwrap. */
export function dataKeyAad(orgId: string, dataKeyId: string): Uint8Array {
  return Buffer.from(`keyway:data-key:${orgId}:${dataKeyId}`, 'utf8');
}

export function wrapDataKey(master: MasterKey, orgId: string, dataKeyId: string, keyBytes: Uint8Array, random: Random): string {
  const nonce = randomNonce(random);
  const ct = seal(master.key, nonce, keyBytes, dataKeyAad(orgId, dataKeyId));
  return formatEnvelope({ kid: master.kid, nonce, ct });
}

/** The raw data key. The caller zeroes the buffer when done. */
export function unwrapDataKeyBytes(masterKeys: MasterKeys, row: WrappedDataKey): Buffer {
  const envelope = parseEnvelope(row.wrapped, { kind: 'mk', what: `wrapped data key ${row.id}` });
  if (envelope.kid !== row.masterKid) {
    throw new KeywayError('vault_error', `wrapped data key ${row.id} names master key ${envelope.kid} but its row says ${row.masterKid}`);
  }
  const master = masterKeys.all.get(row.masterKid);
  if (master === undefined) {
    throw new KeywayError('vault_error',
      `data key ${row.id} is wrapped under master key ${row.masterKid}, which is not configured ` +
      `(active: ${masterKeys.active.kid}). Start with the master key it was wrapped under, as KEYWAY_MASTER_KEY ` +
      'or in KEYWAY_PREVIOUS_MASTER_KEYS.');
  }
  let bytes: Buffer;
  try {
    bytes = open(master, envelope.nonce, envelope.ct, dataKeyAad(row.orgId, row.id));
  } catch (cause) {
    throw new KeywayError('vault_error',
      `could not unwrap data key ${row.id} with master key ${row.masterKid} (wrong master key, or the stored key was altered or moved)`,
      { cause });
  }
  if (bytes.length !== DATA_KEY_BYTES) {
    bytes.fill(0);
    throw new KeywayError('vault_error', `data key ${row.id} has the wrong length`);
  }
  return bytes;
}

export function unwrapDataKey(masterKeys: MasterKeys, row: WrappedDataKey): KeyObject {
  const bytes = unwrapDataKeyBytes(masterKeys, row);
  try {
    return createSecretKey(bytes);
  } finally {
    bytes.fill(0);
  }
}
