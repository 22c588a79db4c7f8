import { iso } from '../core/clock.ts';
import { KeywayError } from '../core/errors.ts';
import type { ApiKeyRecord } from '../store/index.ts';

/** A key's own limits: when it stops (null: never) and its requests a minute (null: the server's default; 0: none). */
export type KeyLimits = Pick<ApiKeyRecord, 'expiresAt' | 'rateLimitPerMinute'>;

export interface HandOut {
  /** The limits the new key would get. */
  wanted: KeyLimits;
  /** `create`: a key made by `POST /v1/api-keys`; `roll`: the successor of a rolled key (which keeps the old one's limits). */
  how: 'create' | 'roll';
  /** The requests a minute of a key with no limit of its own (`KEYWAY_RATE_LIMIT_PER_MINUTE`; 0: none). */
  defaultRateLimitPerMinute: number;
}

/**
 * A key may not hand out a longer life or a higher rate than its own (as it may not hand out a
 * wider scope): a key it creates or rolls must expire no later than it does, when it expires, and
 * be held to no more requests a minute, when it has a limit of its own (so neither "none" nor the
 * server's default above it). Refused with what to send instead; nothing is changed silently.
 * A person signed in is not a key and is not held to this.
 */
export function requireLimitsWithin(creator: KeyLimits, h: HandOut): void {
  const until = creator.expiresAt;
  if (until !== null && (h.wanted.expiresAt === null || h.wanted.expiresAt > until)) {
    throw new KeywayError('forbidden', h.how === 'create'
      ? `This API key expires at ${iso(until)}, so a key it creates must expire no later: send expiresAt at or before ${iso(until)} (or a shorter expiresInDays).`
      : `This API key expires at ${iso(until)}; the rolled key would ${h.wanted.expiresAt === null ? 'never expire' : `expire at ${iso(h.wanted.expiresAt)}`}, later. Roll it signed in (the dashboard), with a key that lasts longer, or with \`keyway keys roll\`.`);
  }
  const limit = creator.rateLimitPerMinute;
  if (limit === null || limit === 0) return;
  const rate = h.wanted.rateLimitPerMinute ?? h.defaultRateLimitPerMinute;
  if (rate !== 0 && rate <= limit) return;
  const asked = rate === 0 ? 'no limit' : `${rate} requests a minute${h.wanted.rateLimitPerMinute === null ? ' (the server\'s default)' : ''}`;
  throw new KeywayError('forbidden', h.how === 'create'
    ? `This API key is limited to ${limit} requests a minute, so a key it creates may not have ${asked}: send rateLimitPerMinute from 1 to ${limit}.`
    : `This API key is limited to ${limit} requests a minute; the rolled key would have ${asked}. Roll it signed in (the dashboard), with a key without that limit, or with \`keyway keys roll\`.`);
}
