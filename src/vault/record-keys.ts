import { type KeyObject, createSecretKey, hkdfSync } from 'node:crypto';

export const RECORD_KEY_INFO_PREFIX = 'keyway:v1:';
export const DEFAULT_RECORD_KEY_CACHE_SIZE = 10_000;

/**
 * The key that seals one field of one record: HKDF-SHA256 over the organization's data key, with the
 * record id as salt and `keyway:v1:${field}` as info.
 *
 * Why: AES-GCM with random 96-bit nonces must not seal more than 2^32 messages under one key
 * (NIST SP 800-38D §8.3). A key per record and field only ever seals that field's successive values,
 * so the limit is never near however many secrets an organization stores.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5869#section-2 RFC 5869 §2 (HKDF-Extract and -Expand)
 * @see https://www.rfc-editor.org/rfc/rfc5869#section-3.1 RFC 5869 §3.1 (salt: non-secret, may be reused) and §3.2 (info binds the context)
 * @see https://nvlpubs.nist.gov/nistpubs/Legacy/SP/nistspecialpublication800-38d.pdf NIST SP 800-38D §8.3
 */
export function deriveRecordKey(dataKey: KeyObject, recordId: string, field: string): KeyObject {
  const okm = Buffer.from(hkdfSync('sha256', dataKey, Buffer.from(recordId, 'utf8'), Buffer.from(`${RECORD_KEY_INFO_PREFIX}${field}`, 'utf8'), 32));
  try {
    return createSecretKey(okm);
  } finally {
    okm.fill(0);
  }
}

/**
 * Derived keys, least recently used evicted first. The gateway decrypts on every proxied call, and
 * HKDF plus key import costs more than the AES-GCM itself for a short token.
 */
export class RecordKeyCache {
  private readonly max: number;
  private readonly entries = new Map<string, KeyObject>();

  constructor(max: number = DEFAULT_RECORD_KEY_CACHE_SIZE) {
    this.max = Math.max(0, Math.floor(max));
  }

  /** The key for (data key, record, field); ids are not secrets, so the cache key can hold them. */
  get(dataKeyId: string, dataKey: KeyObject, recordId: string, field: string): KeyObject {
    const cacheKey = `${dataKeyId}\u0000${recordId}\u0000${field}`;
    const hit = this.entries.get(cacheKey);
    if (hit !== undefined) {
      this.entries.delete(cacheKey); // re-insert: Map order is the recency order
      this.entries.set(cacheKey, hit);
      return hit;
    }
    const key = deriveRecordKey(dataKey, recordId, field);
    if (this.max === 0) return key;
    this.entries.set(cacheKey, key);
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    return key;
  }

  get size(): number {
    return this.entries.size;
  }
}
