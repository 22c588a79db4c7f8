import { type Random, base64url } from './random.ts';

/**
 * Opaque, prefixed ids: a log line or a support request says what it points at.
 * 16 random bytes: unguessable, so an id alone never grants anything but is still not a secret.
 */
export const ID_PREFIXES = {
  org: 'org',
  member: 'mem',
  apiKey: 'key',
  integration: 'int',
  connection: 'conn',
  connectSession: 'cs',
  connectAttempt: 'ca',
  audit: 'aud',
  dataKey: 'dk',
  webhook: 'wh',
  webhookDelivery: 'whd',
  event: 'evt',
  session: 'ses',
  invite: 'inv',
  loginLink: 'lnk',
  signInAttempt: 'sia',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

export function newId(kind: IdKind, random: Random): string {
  return `${ID_PREFIXES[kind]}_${base64url(random.bytes(16))}`;
}

export function hasPrefix(id: string, kind: IdKind): boolean {
  return id.startsWith(`${ID_PREFIXES[kind]}_`);
}

/**
 * Ids of one kind made in bulk (audit entries: one per call on the gateway's path): random bytes
 * drawn `poolBytes` at a time and encoded straight from the pool, where `newId` costs a CSPRNG
 * call and two copies per id. The same ids `newId` makes.
 */
export function idSource(kind: IdKind, random: Random, poolBytes = 4096): () => string {
  const prefix = `${ID_PREFIXES[kind]}_`;
  let pool: Buffer = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset + 16 > pool.length) {
      const drawn = random.bytes(poolBytes);
      pool = Buffer.from(drawn.buffer, drawn.byteOffset, drawn.byteLength);
      offset = 0;
    }
    const id = prefix + pool.toString('base64url', offset, offset + 16);
    offset += 16;
    return id;
  };
}
