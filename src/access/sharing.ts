import { KeywayError } from '../core/errors.ts';
import type { ConnectionRecord, ConnectionSharing, Role, ShareLevel } from '../store/index.ts';
import { type Principal, isAdminRole, withinKeyScope } from './api-keys.ts';

/**
 * Why the caller may use a connection:
 * - `owner`: they authorized it (only the owner, with a key that may read tokens, gets the raw token);
 * - `admin`: an owner or admin of the organization, on a connection shared with it (they manage it);
 * - `shared:manage`: shared with the organization to use, re-authenticate, rename and disconnect;
 * - `shared:use`: shared to call through the proxy only.
 * A personal connection is visible to its owner alone — admins included (README "Teams and sign-in").
 */
export type AccessVia = 'owner' | 'admin' | 'shared:use' | 'shared:manage';

export interface ConnectionAccess {
  via: AccessVia;
  /** `GET /v1/connections/{id}/token`: the owner only, with a key that may read tokens. */
  canReadToken: boolean;
  /** Re-authenticate, rename, disconnect. */
  canManage: boolean;
  /** Change who it is shared with: the owner or an admin. */
  canChangeSharing: boolean;
}

export type Shareable = Pick<ConnectionRecord, 'id' | 'integrationId' | 'ownerMemberId' | 'sharing' | 'shareLevel'>;

/**
 * Why a member with this role sees a connection, before any API key's limits; null when it is not
 * theirs to see. The one rule behind `connectionAccess`, and behind `memberMayManage`.
 */
export function memberAccessVia(memberId: string, role: Role | undefined, c: Shareable): AccessVia | null {
  if (c.ownerMemberId !== null && c.ownerMemberId === memberId) return 'owner';
  if ((c.sharing ?? 'personal') !== 'shared') return null;
  if (isAdminRole(role)) return 'admin';
  return c.shareLevel === 'manage' ? 'shared:manage' : 'shared:use';
}

/** What the caller may do with a connection, or null when it is not theirs to see (answered as 404). */
export function connectionAccess(p: Principal, c: Shareable): ConnectionAccess | null {
  if (!withinKeyScope(p, c)) return null;
  const manage = p.scope.manage;
  const via = memberAccessVia(p.memberId, p.role, c);
  switch (via) {
    case null: return null;
    case 'owner': return { via, canReadToken: p.scope.tokenRead, canManage: manage, canChangeSharing: manage };
    case 'admin': return { via, canReadToken: false, canManage: manage, canChangeSharing: manage };
    case 'shared:manage': return { via, canReadToken: false, canManage: manage, canChangeSharing: false };
    case 'shared:use': return { via, canReadToken: false, canManage: false, canChangeSharing: false };
  }
}

/**
 * May this member (with a key that may manage) re-authenticate, rename or disconnect the connection?
 * Re-checked when a re-authentication link they made completes: sharing or their role may have changed since.
 */
export function memberMayManage(memberId: string, role: Role, c: Shareable): boolean {
  const via = memberAccessVia(memberId, role, c);
  return via !== null && via !== 'shared:use';
}

/** May the caller call through this connection (the gateway, MCP, every route)? */
export function canUseConnection(p: Principal, c: Shareable): boolean {
  return connectionAccess(p, c) !== null;
}

/** The caller sees the connection but may not manage it: 403 that says why (existence is already known to them). */
export function requireConnectionManage(access: ConnectionAccess): void {
  if (access.canManage) return;
  throw new KeywayError('forbidden', access.via === 'shared:use'
    ? 'This connection is shared with you to use through the proxy only; its owner or an admin may re-authenticate, rename or disconnect it.'
    : 'This API key may only use connections; use a key that may manage.');
}

export interface SharingInput {
  sharing: ConnectionSharing;
  level?: ShareLevel | undefined;
}

/**
 * The new sharing columns for a change (pure). A connection whose owner is gone (a former member,
 * or none recorded) cannot be made personal: nobody could use or see it; transfer it by
 * re-authenticating, or disconnect it.
 */
export function sharingColumns(input: SharingInput, ownerIsCurrentMember: boolean): { sharing: ConnectionSharing; shareLevel: ShareLevel | null } {
  if (input.sharing === 'personal') {
    if (input.level !== undefined) throw new KeywayError('invalid_request', 'A personal connection has no sharing level; give "level" only with "sharing": "shared".');
    if (!ownerIsCurrentMember) {
      throw new KeywayError('conflict', 'This connection was authorized by a former member; it cannot be made personal. Re-authenticate it as a current member (POST /v1/connections/{id}/reauthorize) to transfer it, or disconnect it.');
    }
    return { sharing: 'personal', shareLevel: null };
  }
  return { sharing: 'shared', shareLevel: input.level ?? 'use' };
}
