import { type ProviderDefinition, keptValues } from '../catalog/index.ts';
import type { TokenSet } from '../oauth/index.ts';
import type { ConnectionRecord } from '../store/index.ts';

const DAY_MS = 86_400_000;

/**
 * The non-secret fields a token response sets on a connection: lifetimes, scopes, values the
 * definition keeps (instance_url, team id) and the refresh token's expiry — from
 * `refresh_token_expires_in` (or a quirk's equivalent), else the definition's lifetime, else unknown.
 * A response without a new refresh token keeps the previous one's expiry.
 */
export function tokenFields(def: ProviderDefinition, tokens: TokenSet, now: number,
  previous?: Pick<ConnectionRecord, 'providerValues' | 'refreshExpiresAt' | 'grantedScopes'>): Partial<ConnectionRecord> {
  let refreshExpiresAt: number | null;
  if (tokens.refreshTokenExpiresIn !== null) refreshExpiresAt = now + tokens.refreshTokenExpiresIn * 1000;
  else if (tokens.refreshToken !== null) refreshExpiresAt = def.refresh.refreshTokenLifetimeDays ? now + def.refresh.refreshTokenLifetimeDays * DAY_MS : null;
  else refreshExpiresAt = previous?.refreshExpiresAt ?? null;
  return {
    tokenType: tokens.tokenType,
    expiresAt: tokens.expiresIn === null ? null : now + tokens.expiresIn * 1000,
    obtainedAt: now,
    refreshExpiresAt,
    providerValues: { ...previous?.providerValues, ...keptValues(def, tokens.extra) },
    ...(tokens.scopes !== null ? { grantedScopes: tokens.scopes } : previous ? { grantedScopes: previous.grantedScopes } : {}),
  };
}
