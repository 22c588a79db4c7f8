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
