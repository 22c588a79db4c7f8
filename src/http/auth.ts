import type { FastifyRequest } from 'fastify';
import { type Principal, authenticateApiKey } from '../access/index.ts';
import type { Actor } from '../audit/index.ts';
import type { Store } from '../store/index.ts';

export function apiKeyAuthenticator(store: Store): (req: FastifyRequest) => Promise<Principal> {
  return (req) => authenticateApiKey(store, req.headers.authorization);
}

/** What an API call is audited as: the key's member, via the key. */
export function actorOf(p: Principal): Actor {
  return { type: 'api_key', id: p.keyId };
}
