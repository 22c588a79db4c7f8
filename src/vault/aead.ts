import { type KeyObject, createCipheriv, createDecipheriv } from 'node:crypto';
import { KeywayError } from '../core/errors.ts';
import type { Random } from '../core/random.ts';
import { NONCE_BYTES, TAG_BYTES } from './envelope.ts';

/**
 * AES-256-GCM with a 96-bit random nonce and a 128-bit tag.
 *
 * Random nonces are safe only while one key seals at most 2^32 messages (NIST SP 800-38D §8.3);
 * the vault keeps every key far below that by deriving a key per record and field (see
 * record-keys.ts) and by giving data keys and master keys only a handful of wraps each.
 *
 * @see https://nvlpubs.nist.gov/nistpubs/Legacy/SP/nistspecialpublication800-38d.pdf NIST SP 800-38D §8.2.2, §8.3
 */
export function seal(key: KeyObject, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/**
 * Opens what `seal` produced. Throws (Node's authentication error, which holds no data) when the
 * key, nonce, ciphertext or associated data differ. Nothing is returned before the tag is checked.
 * The caller owns the returned buffer and should zero it when done.
 */
export function open(key: KeyObject, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  if (sealed.length < TAG_BYTES) throw new Error('sealed data is shorter than the tag');
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const body = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  const tail = decipher.final();
  return Buffer.concat([body, tail]);
}

/** Exactly `n` random bytes, or a vault_error (a Random that returns fewer must never weaken a key). */
export function randomBytesExactly(random: Random, n: number, what: string): Uint8Array {
  const bytes = random.bytes(n);
  if (bytes.length !== n) {
    throw new KeywayError('vault_error', `the random source returned ${bytes.length} bytes for a ${what}; ${n} are required`);
  }
  return bytes;
}

export function randomNonce(random: Random): Uint8Array {
  return randomBytesExactly(random, NONCE_BYTES, 'nonce');
}
