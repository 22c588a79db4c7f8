import { createPrivateKey, type KeyObject } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { KeywayError } from '../core/errors.ts';
import type { OAuthContext } from './metadata.ts';

/** A client's `private_key_jwt` signing key, ready for oauth4webapi. */
export type ClientPrivateKey = oauth.PrivateKey;

/**
 * How the client authenticates at the token, device and revocation endpoints: `private_key_jwt`
 * when the integration holds a private key, otherwise the definition's method with the client secret.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1 (client_secret_basic / client_secret_post)
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2 (JWT client assertion, private_key_jwt)
 */
export function clientAuthOf(ctx: OAuthContext): oauth.ClientAuth {
  if (ctx.client.privateKey) {
    // The assertion's audience is the issuer (oauth4webapi's default); a provider without an
    // issuer gets its token endpoint, which RFC 7523 §3 also allows.
    const tokenEndpoint = ctx.provider.tokenEndpoint;
    const audience = ctx.provider.issuer === null && tokenEndpoint ? tokenEndpoint : null;
    return oauth.PrivateKeyJwt(ctx.client.privateKey, audience === null ? {} : {
      [oauth.modifyAssertion]: (_header, payload) => { payload['aud'] = audience; },
    });
  }
  const secret = ctx.client.clientSecret;
  const method = ctx.provider.definition.clientAuth;
  if (method === 'none' || secret === null) return oauth.None();
  return method === 'client_secret_post' ? oauth.ClientSecretPost(secret) : oauth.ClientSecretBasic(secret);
}

/** The WebCrypto algorithm a PEM key signs with: RS256, ES256/384/512 or Ed25519 (RFC 7518 §3.1). */
function signingAlgorithm(key: KeyObject): RsaHashedImportParams | EcKeyImportParams | Algorithm {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const named = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : null;
      if (!named) break;
      return { name: 'ECDSA', namedCurve: named };
    }
    case 'ed25519':
      return { name: 'Ed25519' };
    default:
      break;
  }
  throw new KeywayError('invalid_request', `The private key is a ${key.asymmetricKeyType ?? 'unknown'} key${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ''}; private_key_jwt needs an RSA, EC (P-256, P-384, P-521) or Ed25519 key.`);
}

/**
 * Reads a PEM private key (PKCS#8, or PKCS#1/SEC1) for `private_key_jwt`. The error never repeats the key.
 * @param kid the key id registered at the provider, sent in the assertion's header when given
 */
export async function importClientPrivateKey(pem: string, kid?: string): Promise<ClientPrivateKey> {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new KeywayError('invalid_request', 'The private key could not be read: give a PEM private key ("-----BEGIN PRIVATE KEY-----" …).');
  }
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  const cryptoKey = await crypto.subtle.importKey('pkcs8', new Uint8Array(pkcs8), signingAlgorithm(key), false, ['sign']);
  return kid ? { key: cryptoKey, kid } : { key: cryptoKey };
}
