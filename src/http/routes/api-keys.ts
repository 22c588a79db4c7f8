import { z } from 'zod';
import { KeywayError } from '../../core/errors.ts';
import { iso } from '../../core/clock.ts';
import {
  actorOf, FULL_SCOPE, type KeyLimits, MAX_KEY_DAYS, MAX_ROLL_GRACE_MINUTES, type Principal, createApiKey, expiresInDays, isLimitedKey, requireKeyManage, requireLimitsWithin, requireScopeWithin,
  rollApiKey,
} from '../../access/index.ts';
import type { ApiKeyRecord, ApiKeyScope, ApiKeyVisibility } from '../../store/index.ts';
import { pageQuery } from '../route.ts';
import type { Services } from '../services.ts';
import type { RouteDeps } from './deps.ts';

const ids = z.array(z.string().min(1).max(100)).max(500);

const createBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  /** Omitted parts: all integrations, all connections, no token reading, no managing. */
  scope: z.strictObject({
    integrations: ids.optional(),
    connections: ids.optional(),
    tokenRead: z.boolean().optional(),
    manage: z.boolean().optional(),
  }).optional(),
  /** Requests per minute; 0 means no limit; omitted means the server's default. */
  rateLimitPerMinute: z.number().int().min(0).max(1_000_000).optional(),
  /** When the key stops working (ISO 8601); or `expiresInDays` from now. Omitted: it does not expire. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  expiresInDays: z.number().int().min(1).max(MAX_KEY_DAYS).optional(),
});

/** When a new key expires (null: never), from `expiresAt` or `expiresInDays`; at most one, and in the future. */
function expiryOf(body: { expiresAt?: string | undefined; expiresInDays?: number | undefined }, now: number): number | null {
  if (body.expiresAt !== undefined && body.expiresInDays !== undefined) {
    throw new KeywayError('invalid_request', 'Give either expiresAt or expiresInDays, not both.');
  }
  if (body.expiresInDays !== undefined) return expiresInDays(now, body.expiresInDays);
  if (body.expiresAt === undefined) return null;
  const at = Date.parse(body.expiresAt);
  if (at <= now) throw new KeywayError('invalid_request', `expiresAt must be in the future; it is ${iso(now)} now.`);
  return at;
}

const idParam = z.object({ id: z.string().max(100) });

/** A key as the API shows it: never its hash, only the first characters to recognise it. */
export function presentApiKey(k: ApiKeyRecord) {
  return {
    id: k.id, name: k.name, prefix: k.prefix, member: k.memberId, scope: k.scope,
    rateLimitPerMinute: k.rateLimitPerMinute,
    createdAt: iso(k.createdAt), lastUsedAt: k.lastUsedAt === null ? null : iso(k.lastUsedAt),
    revokedAt: k.revokedAt === null ? null : iso(k.revokedAt),
    expiresAt: k.expiresAt === null ? null : iso(k.expiresAt),
    replacedBy: k.replacedBy,
  };
}

/**
 * A key may only hand out what its caller has (`requireScopeWithin`); a signed-in person may give
 * their own keys anything their role allows, token reading included.
 */
function requireMayHandOut(p: Principal, scope: ApiKeyScope): void {
  requireScopeWithin(p.sessionId ? { ...p, scope: FULL_SCOPE } : p, scope);
}

/**
 * The calling key's own expiry and rate limit, which bound the keys it creates or rolls
 * (`requireLimitsWithin`); null for a person signed in, who is not held to a key's limits.
 */
async function creatorLimits(services: Services, p: Principal): Promise<KeyLimits | null> {
  if (p.keyId === null) return null;
  const own = await services.store.apiKeys.get(p.orgId, p.keyId);
  if (!own) throw new KeywayError('unauthorized', 'This API key is unknown or revoked.');
  return own;
}

/**
 * Whose keys the caller sees (others' are not found): a member their own; an admin also those of
 * members who are not owners (acting on an owner takes an owner, as for roles); an owner every key.
 * A key limited to some integrations or connections sees its member's own only (organization-wide
 * administration needs a key without that limit).
 */
function seenBy(p: Principal): ApiKeyVisibility {
  if (isLimitedKey(p)) return { memberId: p.memberId, others: 'none' };
  return { memberId: p.memberId, others: p.role === 'owner' ? 'all' : p.role === 'admin' ? 'non_owners' : 'none' };
}

export function apiKeyRoutes({ def, services }: RouteDeps): void {
  const { store, audit, keys } = services;
  const visibleKey = async (p: Principal, id: string): Promise<ApiKeyRecord> => {
    const k = await store.apiKeys.get(p.orgId, id, seenBy(p));
    if (!k) throw new KeywayError('not_found', `No API key ${id}.`);
    return k;
  };

  def({
    method: 'POST', url: '/v1/api-keys', tag: 'api-keys', status: 201, body: createBody,
    summary: 'Create an API key for the calling member; the key is in this answer only, never shown again',
    handler: async ({ body, principal }) => {
      requireKeyManage(principal);
      const scope: ApiKeyScope = {
        integrations: body.scope?.integrations ?? [], connections: body.scope?.connections ?? [],
        tokenRead: body.scope?.tokenRead ?? false, manage: body.scope?.manage ?? false,
      };
      requireMayHandOut(principal, scope);
      const expiresAt = expiryOf(body, services.clock.now());
      const creator = await creatorLimits(services, principal);
      const wanted = { expiresAt, rateLimitPerMinute: body.rateLimitPerMinute ?? null };
      if (creator) requireLimitsWithin(creator, { wanted, how: 'create', defaultRateLimitPerMinute: services.config.rateLimitPerMinute });
      const { record, key } = await createApiKey(services, {
        orgId: principal.orgId, memberId: principal.memberId, name: body.name, scope, rateLimitPerMinute: body.rateLimitPerMinute ?? null, expiresAt,
      });
      const detail = { key: record.id, scope, ...(expiresAt === null ? {} : { expiresAt: iso(expiresAt) }) };
      audit.record({ orgId: principal.orgId, actor: actorOf(principal), action: 'api_key.create', detail });
      return { ...presentApiKey(record), key };
    },
  });
  def({
    method: 'GET', url: '/v1/api-keys', tag: 'api-keys', summary: 'List API keys (never a key or its hash)',
    query: z.strictObject({ ...pageQuery }),
    handler: async ({ query, principal }) => {
      requireKeyManage(principal);
      const page = await store.apiKeys.page(principal.orgId, { limit: query.limit, cursor: query.cursor }, seenBy(principal));
      return { data: page.data.map(presentApiKey), nextCursor: page.nextCursor };
    },
  });
  def({
    method: 'GET', url: '/v1/api-keys/{id}', tag: 'api-keys', summary: 'One API key (never the key or its hash)', params: idParam,
    handler: async ({ params, principal }) => {
      requireKeyManage(principal);
      const k = await visibleKey(principal, params.id);
      return presentApiKey(k);
    },
  });
  def({
    method: 'POST', url: '/v1/api-keys/{id}/roll', tag: 'api-keys', status: 201, params: idParam,
    body: z.strictObject({ graceMinutes: z.number().int().min(0).max(MAX_ROLL_GRACE_MINUTES).optional() }).optional(),
    summary: 'Roll an API key: a new key with the same name, scope, rate limit and lifetime (in this answer only); the old one stops at once, or after graceMinutes (up to a week) so apps can move over first',
    handler: async ({ params, body, principal }) => {
      requireKeyManage(principal);
      const k = await visibleKey(principal, params.id);
      // The new key acts as the old one's member: only that member may hold it (an admin may revoke it instead).
      if (k.memberId !== principal.memberId) throw new KeywayError('forbidden', `API key ${k.id} belongs to another member; only they may roll it. You may revoke it (DELETE /v1/api-keys/${k.id}).`);
      requireMayHandOut(principal, k.scope);
      const creator = await creatorLimits(services, principal);
      const { record, key, oldEndsAt } = await rollApiKey(services, k, body?.graceMinutes ?? 0, (next) => {
        if (creator) requireLimitsWithin(creator, { wanted: next, how: 'roll', defaultRateLimitPerMinute: services.config.rateLimitPerMinute });
      });
      keys.forget(k.id); // this process sees the old key's end at once; others re-read it within a second
      audit.record({ orgId: principal.orgId, actor: actorOf(principal), action: 'api_key.roll', detail: { key: k.id, newKey: record.id, oldKeyEndsAt: iso(oldEndsAt) } });
      return { ...presentApiKey(record), key, previous: { id: k.id, endsAt: iso(oldEndsAt) } };
    },
  });
  def({
    method: 'DELETE', url: '/v1/api-keys/{id}', tag: 'api-keys', params: idParam,
    summary: 'Revoke an API key: refused from then on by every Keyway process (within a second)',
    handler: async ({ params, principal }) => {
      requireKeyManage(principal);
      const k = await visibleKey(principal, params.id);
      if (k.revokedAt === null) {
        await store.apiKeys.revoke(principal.orgId, k.id, services.clock.now());
        audit.record({ orgId: principal.orgId, actor: actorOf(principal), action: 'api_key.revoke', detail: { key: k.id } });
      }
      keys.forget(k.id);
      return undefined;
    },
  });
}
