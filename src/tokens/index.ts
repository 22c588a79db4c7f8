export { type AccessToken, TokenService, type TokenServiceDeps, type TokenInUse } from './token-service.ts';
export { TokenCache, type TokenCacheEntry } from './token-cache.ts';
export { CacheCheck, type CacheCheckOptions, type StampCompare } from './cache-check.ts';
export { Refresher, type RefresherDeps, type RefreshRequest } from './refresher.ts';
export { type SecretSealer, TokenCrypto, type TokenField } from './token-crypto.ts';
export { DEFAULT_REFRESH_POLICY, type RefreshPolicy, needsRefresh, statusPatch } from './policy.ts';
export { tokenFields } from './token-fields.ts';
export { RefreshScheduler, type SchedulerOptions, backoffMs } from './scheduler.ts';
