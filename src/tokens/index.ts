export { type AccessToken, TokenService, type TokenServiceDeps } from './token-service.ts';
export { Refresher, type RefresherDeps, type RefreshRequest } from './refresher.ts';
export { type SecretSealer, TokenCrypto, type TokenField } from './token-crypto.ts';
export { DEFAULT_REFRESH_POLICY, type RefreshPolicy, needsRefresh, statusPatch } from './policy.ts';
export { tokenFields } from './token-fields.ts';
