import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { KeywayError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { type Random, randomToken } from '../core/random.ts';
import type { ApiKeyRecord, ApiKeyScope, Store } from '../store/index.ts';

export const FULL_SCOPE: ApiKeyScope = { integrations: [], connections: [], tokenRead: true, manage: true };

/** Who is calling: an API key of a member of one organization. */
export interface Principal {
  orgId: string;
  memberId: string;
  keyId: string;
  scope: ApiKeyScope;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Creates a key; the plain key is returned once and only its hash is stored. */
export async function createApiKey(
  deps: { store: Store; random: Random; clock: Clock },
  input: { orgId: string; memberId: string; name: string; scope?: ApiKeyScope },
): Promise<{ record: ApiKeyRecord; key: string }> {
  const key = `kw_${randomToken(deps.random, 32)}`;
  const record: ApiKeyRecord = {
    id: newId('apiKey', deps.random), orgId: input.orgId, memberId: input.memberId, name: input.name,
    hash: hashKey(key), prefix: key.slice(0, 10), scope: input.scope ?? FULL_SCOPE,
    createdAt: deps.clock.now(), lastUsedAt: null, revokedAt: null, rateLimitPerMinute: null,
  };
  await deps.store.apiKeys.insert(record);
  return { record, key };
}

/** Resolves `Authorization: Bearer kw_…` to its principal. */
export async function authenticateApiKey(store: Store, authorization: string | undefined): Promise<Principal> {
  const m = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
  if (!m || !m[1]) {
    throw new KeywayError('unauthorized', 'Send an API key as "Authorization: Bearer kw_…". Create one with `npx keyway keys create --name NAME`.');
  }
  const rec = await store.apiKeys.findByHash(hashKey(m[1]));
  if (!rec || rec.revokedAt !== null) {
    throw new KeywayError('unauthorized', 'This API key is unknown or revoked. Create a new one with `npx keyway keys create --name NAME`.');
  }
  return { orgId: rec.orgId, memberId: rec.memberId, keyId: rec.id, scope: rec.scope };
}

export function requireManage(p: Principal): void {
  if (!p.scope.manage) throw new KeywayError('forbidden', 'This API key may only use connections; ask an admin for a key that may manage integrations.');
}

export function requireTokenRead(p: Principal): void {
  if (!p.scope.tokenRead) throw new KeywayError('forbidden', 'This API key may call providers through the proxy but may not read raw tokens.');
}

export function canUseIntegration(p: Principal, integrationId: string): boolean {
  return p.scope.integrations.length === 0 || p.scope.integrations.includes(integrationId);
}

export function canUseConnection(p: Principal, c: { id: string; integrationId: string }): boolean {
  return canUseIntegration(p, c.integrationId) && (p.scope.connections.length === 0 || p.scope.connections.includes(c.id));
}
