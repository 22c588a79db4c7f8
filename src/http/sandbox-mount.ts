import type { FastifyInstance } from 'fastify';
import { parseDefinition, type ProviderDefinition } from '../catalog/index.ts';
import type { Sandbox } from '../sandbox/index.ts';
import { randomToken } from '../core/random.ts';
import { SYSTEM_ACTOR } from '../audit/index.ts';
import type { Services } from './services.ts';

export const SANDBOX_PATH = '/sandbox';
export const SANDBOX_CLIENT_ID = 'keyway-sandbox';

/** The sandbox as a catalog entry. Its URLs depend on where this Keyway is reachable. */
export function sandboxDefinition(publicUrl: string): ProviderDefinition {
  const issuer = `${publicUrl}${SANDBOX_PATH}`;
  return parseDefinition({
    id: 'sandbox', name: 'Keyway Sandbox', categories: ['sandbox'],
    docs: `${issuer}/.well-known/openid-configuration`,
    setup: 'Built in: a real OAuth 2.1 authorization server inside Keyway. Sign in with any user name.',
    grants: ['authorization_code', 'client_credentials', 'device_code'],
    issuer, authorizationUrl: `${issuer}/auth`, tokenUrl: `${issuer}/token`, revocationUrl: `${issuer}/token/revocation`,
    deviceAuthorizationUrl: `${issuer}/device/auth`, issParameterSupported: true, oidc: true,
    scopes: { default: ['openid', 'profile', 'email', 'offline_access', 'items:read', 'items:write'], available: ['openid', 'profile', 'email', 'offline_access', 'items:read', 'items:write'], separator: ' ' },
    // OIDC Core §11: offline_access is granted only with prompt=consent; without it the sandbox drops
    // the scope and every connection would show it as missing.
    authParams: { prompt: 'consent' },
    clientAuth: 'client_secret_basic', refresh: { kind: 'rotating' },
    api: { baseUrls: [`${issuer}/api`] },
  }, 'built-in sandbox');
}

/** Serves the sandbox authorization server and its API under /sandbox in Keyway's own server. */
export async function createMountedSandbox(publicUrl: string): Promise<{ sandbox: Sandbox; mount: (app: FastifyInstance) => void }> {
  // Loaded only when the sandbox is on: oidc-provider and its dependencies cost tens of MB of memory.
  const { createSandbox } = await import('../sandbox/index.ts');
  const sandbox = await createSandbox({ issuer: `${publicUrl}${SANDBOX_PATH}` });
  // A hook, not a route: Fastify would otherwise parse (or refuse) the form bodies oidc-provider reads itself.
  const mount = (app: FastifyInstance): void => {
    app.addHook('onRequest', async (req, reply) => {
      const u = req.url;
      if (u === SANDBOX_PATH || u.startsWith(`${SANDBOX_PATH}/`) || u.startsWith(`${SANDBOX_PATH}?`)) {
        reply.hijack();
        sandbox.handle(req.raw, reply.raw);
      }
    });
  };
  return { sandbox, mount };
}

/**
 * First start: the organization gets a ready "Keyway Sandbox" integration. Every start: the
 * sandbox learns that integration's client (its redirect URI and secret).
 */
export async function ensureSandboxIntegration(services: Services, sandbox: Sandbox, orgId: string): Promise<string> {
  const { integrations, vault } = services;
  let rec = (await integrations.list(orgId)).find((i) => i.provider === 'sandbox');
  if (!rec) {
    rec = await integrations.create(orgId, SYSTEM_ACTOR, {
      provider: 'sandbox', name: 'Keyway Sandbox', clientId: SANDBOX_CLIENT_ID, clientSecret: randomToken(services.random, 24),
    });
  }
  const secret = rec.clientSecretEnc ? await vault.decrypt({ orgId, recordId: rec.id, field: 'client_secret' }, rec.clientSecretEnc) : undefined;
  await sandbox.registerClient({
    clientId: rec.clientId, ...(secret ? { clientSecret: secret } : {}), redirectUris: [integrations.redirectUri(rec.id)],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'],
  });
  return rec.id;
}
