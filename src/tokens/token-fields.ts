import { type ProviderDefinition, keptValues } from '../catalog/index.ts';
import type { TokenSet } from '../oauth/index.ts';
import type { ConnectionRecord } from '../store/index.ts';

const DAY_MS = 86_400_000;
/**
 * A lifetime past this (ten years) is not a real expiry: read as none. A provider's `expires_in` of
 * 1e20 would otherwise be stored as a time no date can hold, and every page showing it would fail.
 */
const LONGEST_LIFETIME_S = 10 * 365 * 86_400;

/** When a lifetime given in seconds ends; null for none, or one too long to be meant. */
function endOf(now: number, seconds: number): number | null {
  return Number.isFinite(seconds) && seconds <= LONGEST_LIFETIME_S ? now + seconds * 1000 : null;
}

/**
 * The non-secret fields a token response sets on a connection: lifetimes, scopes, values the
 * definition keeps (instance_url, team id) and the refresh token's expiry — from
 * `refresh_token_expires_in` (or a quirk's equivalent), else the definition's lifetime, else unknown.
 * A response without a new refresh token keeps the previous one's expiry.
 *
 * A first consent's token response (no `previous`) that expires but brings no refresh token, from a provider
 * that does refresh, sets `statusReason`: the connection is usable now and says it will need
 * reconnecting when the token expires, with the definition's advice (Google's `prompt=consent`).
 */
export function tokenFields(def: ProviderDefinition, tokens: TokenSet, now: number,
  previous?: Pick<ConnectionRecord, 'providerValues' | 'refreshExpiresAt' | 'grantedScopes'>, fromCallback: Record<string, string> = {}): Partial<ConnectionRecord> {
  let refreshExpiresAt: number | null;
  if (tokens.refreshTokenExpiresIn !== null) refreshExpiresAt = endOf(now, tokens.refreshTokenExpiresIn);
  else if (tokens.refreshToken !== null) refreshExpiresAt = def.refresh.refreshTokenLifetimeDays ? now + def.refresh.refreshTokenLifetimeDays * DAY_MS : null;
  else refreshExpiresAt = previous?.refreshExpiresAt ?? null;
  const expiresAt = tokens.expiresIn === null ? null : endOf(now, tokens.expiresIn);
  return {
    tokenType: tokens.tokenType,
    expiresAt,
    obtainedAt: now,
    refreshExpiresAt,
    providerValues: { ...previous?.providerValues, ...keptValues(def, tokens.extra), ...fromCallback },
    ...(tokens.scopes !== null ? { grantedScopes: tokens.scopes } : previous ? { grantedScopes: previous.grantedScopes } : {}),
    ...(previous === undefined && tokens.fromConsent === true && tokens.refreshToken === null && expiresAt !== null && def.refresh.kind !== 'none'
      ? { statusReason: noRefreshTokenReason(def, expiresAt) } : {}),
  };
}

function noRefreshTokenReason(def: ProviderDefinition, expiresAt: number): string {
  const advice = def.refresh.missingHint ?? 'Reconnect to get a new token when it expires.';
  return `${def.name} gave no refresh token, so this connection stops working when its access token expires (${new Date(expiresAt).toISOString()}). ${advice}`;
}
