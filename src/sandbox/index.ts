/**
 * Keyway's sandbox provider: a real OAuth 2.1 / OIDC authorization server (oidc-provider) with
 * login and consent pages and a small protected API, mountable under a path prefix.
 */
export { createSandbox } from './sandbox.ts';
export type { Sandbox, SandboxOptions, SandboxStats } from './sandbox.ts';
export type { SandboxClient } from './provider.ts';
export { DEVICE_CODE_GRANT, SANDBOX_SCOPES, EMAIL_DOMAIN } from './provider.ts';
export { startSandboxServer } from './server.ts';
export type { SandboxServer, SandboxServerOptions } from './server.ts';
