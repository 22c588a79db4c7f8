export { type AuthorizationRequest, type CodeExchange, buildAuthorizationUrl, exchangeAuthorizationCode } from './authorization-code.ts';
export { refreshAccessToken } from './refresh.ts';
export { discoverIssuer, type DiscoveryOptions } from './discovery.ts';
export { type OAuthContext } from './metadata.ts';
export { type ProviderErrorDetails, providerErrorCode, toKeywayError } from './errors.ts';
export { type TokenSet, splitScopes } from './token-set.ts';
export { type TokenResponseNormalizer, withNormalizer } from './normalize.ts';
