import { createHash } from 'node:crypto';

/** Bearer values that travel through browsers (state, link tokens, binding cookies) are stored hashed. */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
