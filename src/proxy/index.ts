export { PROXY_PREFIX, auditPath, checkForwardPath, parseProxyUrl, type ProxyUrl } from './path.ts';
export { ProxyService, REPLAYABLE_BODY_LIMIT, type ProxyServiceDeps, type TokenSource } from './service.ts';
export { ProxyTargets, pickBase, type ApiBase, type ProxyTarget, type TargetDeps } from './target.ts';
export { credentialFor, upstreamQuery, type Credential, type Injection } from './inject.ts';
export { requestHeaders, responseHeaders } from './headers.ts';
export { challengeParams, scopeHint, scopeProblemFromBody, scopeProblemFromHeaders, unauthorizedHint } from './hints.ts';
