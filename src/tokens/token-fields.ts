import { type ProviderDefinition, keptValues } from '../catalog/index.ts';
import type { TokenSet } from '../oauth/index.ts';
import type { ConnectionRecord } from '../store/index.ts';

const DAY_MS = 86_400_000;

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
  if (tokens.refreshTokenExpiresIn !== null) refreshExpiresAt = now + tokens.refreshTokenExpiresIn * 1000;
  else if (tokens.refreshToken !== null) refreshExpiresAt = def.refresh.refreshTokenLifetimeDays ? now + def.refresh.refreshTokenLifetimeDays * DAY_MS : null;
  else refreshExpiresAt = previous?.refreshExpiresAt ?? null;
  return {
    tokenType: tokens.tokenType,
    expiresAt: tokens.expiresIn === null ? null : now + tokens.expiresIn * 1000,
    obtainedAt: now,
    refreshExpiresAt,
    providerValues: { ...previous?.providerValues, ...keptValues(def, tokens.extra), ...fromCallback },
    ...(tokens.scopes !== null ? { grantedScopes: tokens.scopes } : previous ? { grantedScopes: previous.grantedScopes } : {}),
    ...(previous === undefined && tokens.fromConsent === true && tokens.refreshToken === null && tokens.expiresIn !== null && def.refresh.kind !== 'none'
      ? { statusReason: noRefreshTokenReason(def, now + tokens.expiresIn * 1000) } : {}),
  };
}

function noRefreshTokenReason(def: ProviderDefinition, expiresAt: number): string {
  const advice = def.refresh.missingHint ?? 'Reconnect to get a new token when it expires.';
  return `${def.name} gave no refresh token, so this connection stops working when its access token expires (${new Date(expiresAt).toISOString()}). ${advice}`;
}
