/**
 * A real oidc-provider on 127.0.0.1 that authenticates one client by `private_key_jwt` (RFC 7523)
 * for the client credentials grant. The sandbox only offers secrets, so this is its own small server.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { SandboxStore } from '../../src/sandbox/store.ts';

export interface PrivateKeyJwtProvider {
  issuer: string;
  clientId: string;
  /** The client's private key, PKCS#8 PEM: what the integration holds. */
  privateKeyPem: string;
  provider: Provider;
  /** Whether a client-credentials access token is live at the provider. */
  isActive(token: string): Promise<boolean>;
  close(): Promise<void>;
}

export async function startPrivateKeyJwtProvider(): Promise<PrivateKeyJwtProvider> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'machine-pkjwt';
  const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signing = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const store = new SandboxStore();
  const provider = new Provider(issuer, {
    adapter: store.adapterFor,
    jwks: { keys: [{ ...signing, kid: 'sig-1', alg: 'RS256', use: 'sig' }] } as never,
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['items:read'],
    clientAuthMethods: ['private_key_jwt'],
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
    clients: [{
      client_id: clientId, token_endpoint_auth_method: 'private_key_jwt', grant_types: ['client_credentials'],
      redirect_uris: [], response_types: [],
      jwks: { keys: [{ ...client.publicKey.export({ format: 'jwk' }), use: 'sig' }] } as never,
    }],
    ttl: { ClientCredentials: 300 },
  });
  server.on('request', provider.callback());
  return {
    issuer, clientId, provider,
    privateKeyPem: client.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    async isActive(token) {
      const found = await provider.ClientCredentials.find(token);
      return Boolean(found && !found.isExpired);
    },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
