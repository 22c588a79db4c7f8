import { randomBytes } from 'node:crypto';

/** Source of randomness, passed in so tests can pin it where they must. */
export interface Random {
  bytes(n: number): Uint8Array;
}

export const cryptoRandom: Random = { bytes: (n) => new Uint8Array(randomBytes(n)) };

export function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** A random URL-safe token of `n` bytes of entropy. */
export function randomToken(random: Random, n = 32): string {
  return base64url(random.bytes(n));
}

/**
 * Random bytes drawn 4 KB at a time and handed out in order: for ids made on a hot path (audit
 * entries), where one CSPRNG call per id costs several microseconds.
 */
export function pooledRandom(random: Random, size = 4096): Random {
  let pool: Uint8Array = new Uint8Array(0);
  let offset = 0;
  return {
    bytes(n) {
      if (n > size) return random.bytes(n);
      if (offset + n > pool.length) {
        pool = random.bytes(size);
        offset = 0;
      }
      const out = pool.slice(offset, offset + n);
      offset += n;
      return out;
    },
  };
}
