/**
 * oidc-provider configuration for the sandbox: an OAuth 2.1 / OIDC authorization server with
 * code + PKCE (S256), refresh tokens (rotating, single-use by default), client credentials,
 * device authorization, revocation, introspection and RFC 9207 `iss`.
 *
 * @see https://github.com/panva/node-oidc-provider/tree/main/docs
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';
import type { ClientMetadata, Configuration, KoaContextWithOIDC } from 'oidc-provider';

import type { SandboxStore } from './store.ts';
import { deviceConfirmPage, deviceInputPage, messagePage } from './views.ts';

export const SANDBOX_SCOPES = ['openid', 'profile', 'email', 'offline_access', 'items:read', 'items:write'];
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const EMAIL_DOMAIN = 'sandbox.keyway.test';

export interface SandboxClient {
  clientId: string;
  clientSecret?: string;
  redirectUris: string[];
  /** default: authorization_code + refresh_token; device flow is `urn:ietf:params:oauth:grant-type:device_code` */
  grantTypes?: string[];
  /** default: client_secret_basic with a secret (client_secret_post also accepted), `none` without */
  tokenEndpointAuthMethod?: string;
  /** The client's authorization requests must be pushed first (RFC 9126 `require_pushed_authorization_requests`). */
  requirePushedAuthorization?: boolean;
}

export interface ProviderSettings {
  issuer: string;
  /** issuer path without trailing slash, '' at the root */
  prefix: string;
  store: SandboxStore;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  rotateRefreshTokens: boolean;
}

/** Claims of a sandbox account: the account id is the user name typed on the login page. */
export function accountClaims(accountId: string): { sub: string; name: string; email: string } {
  return { sub: accountId, name: accountId, email: `${accountId}@${EMAIL_DOMAIN}` };
}

export function clientMetadata(client: SandboxClient): ClientMetadata {
  const grantTypes = client.grantTypes ?? ['authorization_code', 'refresh_token'];
  const metadata: ClientMetadata = {
    client_id: client.clientId,
    client_name: client.clientId,
    redirect_uris: client.redirectUris,
    grant_types: grantTypes,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    // Validated by oidc-provider when the client is loaded (invalid_client_metadata otherwise).
    token_endpoint_auth_method: (client.tokenEndpointAuthMethod ??
      (client.clientSecret ? 'client_secret_basic' : 'none')) as ClientMetadata['token_endpoint_auth_method'],
  };
  if (client.clientSecret !== undefined) metadata.client_secret = client.clientSecret;
  if (client.requirePushedAuthorization) metadata['require_pushed_authorization_requests'] = true;
  return metadata;
}

function signingKeys(): { keys: Record<string, unknown>[] } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: randomUUID(), alg: 'RS256', use: 'sig' }] };
}

function configuration(settings: ProviderSettings): Configuration {
  const { prefix, store, accessTokenTtlSeconds: accessTtl, refreshTokenTtlSeconds: refreshTtl } = settings;
  return {
    adapter: store.adapterFor,
    jwks: signingKeys() as Configuration['jwks'],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: SANDBOX_SCOPES,
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    // OAuth 2.1: PKCE on every authorization request (oidc-provider v9 knows only S256).
    pkce: { required: () => true },
    // A refresh token for every client allowed the grant, not only with offline_access + prompt=consent.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: settings.rotateRefreshTokens,
    expiresWithSession: async () => false,
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ ...accountClaims(sub), email_verified: true }),
    }),
    interactions: { url: async (_ctx, interaction) => `${prefix}/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: accessTtl,
      ClientCredentials: accessTtl,
      RefreshToken: refreshTtl,
      AuthorizationCode: 60,
      DeviceCode: 600,
      IdToken: 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: Math.max(refreshTtl, 365 * 24 * 3600),
    },
    clientBasedCORS: () => true,
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = messagePage('Something went wrong', `${out.error}: ${out.error_description ?? ''}`);
    },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      resourceIndicators: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) =>
          client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
      },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: async (ctx, form, _out, err) => {
          ctx.type = 'html';
          ctx.body = deviceInputPage(form, deviceError(err));
        },
        userCodeConfirmSource: async (ctx, form, client, _info, userCode) => {
          ctx.type = 'html';
          ctx.body = deviceConfirmPage(form, client.clientName ?? client.clientId, userCode);
        },
        successSource: async (ctx: KoaContextWithOIDC) => {
          ctx.type = 'html';
          ctx.body = messagePage('Device connected', 'You can return to your device and close this page.');
        },
      },
    },
  };
}

function deviceError(err: Error | undefined): string | undefined {
  if (!err) return undefined;
  if ('userCode' in err || err.name === 'NoCodeError') return 'The code you entered is not valid. Try again.';
  if (err.name === 'AbortedError') return 'The sign-in was denied or cancelled. You can close this page.';
  return 'The request could not be completed. Try again.';
}

export function createProvider(settings: ProviderSettings): Provider {
  const provider = new Provider(settings.issuer, configuration(settings));
  provider.on('server_error', (_ctx: unknown, err: Error) => {
    console.error('keyway sandbox: oidc-provider server_error:', err);
  });
  return provider;
}
