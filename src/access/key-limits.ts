import { KeywayError } from '../core/errors.ts';
import type { AuditFilter, Store } from '../store/index.ts';
import { type Principal, requireManage } from './api-keys.ts';

/**
 * What a key limited to some integrations or connections (`scope.integrations` or
 * `scope.connections` not empty) may do beyond using them: read and manage only its integrations,
 * read only their audit entries, and no organization-wide administration. A person signed in is
 * never limited so.
 */
export function isLimitedKey(p: Principal): boolean {
  return p.scope.integrations.length > 0 || p.scope.connections.length > 0;
}

/**
 * Organization-wide administration (adding integrations, webhooks, invites, members' roles and
 * removal, new organizations) reaches beyond any integration or connection: it needs a key with
 * no such limit.
 */
export function requireUnlimitedKey(p: Principal, what: string): void {
  if (isLimitedKey(p)) {
    throw new KeywayError('forbidden', `This API key is limited to some integrations or connections, so it cannot ${what}; use a key without an integration or connection limit.`);
  }
}

/** `requireManage` (an owner or admin, with a key that may manage) for organization-wide administration. */
export function requireOrgAdmin(p: Principal, what: string): void {
  requireManage(p);
  requireUnlimitedKey(p, what);
}

/**
 * Changing or deleting an integration acts on every connection of it: an owner or admin with a key
 * that may manage, and not one limited to connections (one limited to integrations, on its own).
 */
export function requireIntegrationManage(p: Principal): void {
  requireManage(p);
  if (p.scope.connections.length > 0) {
    throw new KeywayError('forbidden', 'A key limited to connections cannot change integrations (that acts on all of their connections); use a key without a connection limit.');
  }
}

/**
 * The integrations a limited key may see: those of its scope, and of a key limited to connections
 * those of its connections (within its integrations, if it names both). Null: all of them.
 */
export async function integrationsWithin(store: Store, p: Principal): Promise<ReadonlySet<string> | null> {
  if (!isLimitedKey(p)) return null;
  const { integrations, connections } = p.scope;
  if (connections.length === 0) return new Set(integrations);
  const ofConnections = await store.connections.integrationIdsOf(p.orgId, connections);
  return new Set(integrations.length === 0 ? ofConnections : ofConnections.filter((i) => integrations.includes(i)));
}

/** The part of an audit query a limited key is held to: entries of its integrations and connections only. */
export function auditWithin(p: Principal): Pick<AuditFilter, 'integrationIds' | 'connectionIds'> {
  const { integrations, connections } = p.scope;
  return {
    ...(integrations.length > 0 ? { integrationIds: integrations } : {}),
    ...(connections.length > 0 ? { connectionIds: connections } : {}),
  };
}

/**
 * A key limited to some connections works with those alone: it may not connect new accounts
 * (connect sessions) nor create connections, which it could not use anyway.
 */
export function requireMayAddConnections(p: Principal): void {
  if (p.scope.connections.length > 0) {
    throw new KeywayError('forbidden', 'A key limited to connections cannot add new ones; use a key without a connection limit.');
  }
}
