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
