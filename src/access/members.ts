import { KeywayError } from '../core/errors.ts';
import type { MemberRecord, Role, Store } from '../store/index.ts';
import { type Principal, isAdminRole, memberRemovedError } from './api-keys.ts';

export const ROLES = ['owner', 'admin', 'member'] as const satisfies readonly Role[];

/**
 * Roles, in one place:
 * - `owner`: everything, and the only role that makes (or unmakes) owners; an organization always
 *   keeps at least one owner, so the last owner can neither leave nor be demoted or removed.
 * - `admin`: manages the organization (integrations, webhooks, audit, invites, members who are
 *   not owners) and the connections shared with it; never sees others' personal connections.
 * - `member`: connects, uses their own connections and the ones shared with them, manages their own keys.
 */
export function assertMayGrant(actor: Principal, role: Role): void {
  if (!isAdminRole(actor.role)) throw new KeywayError('forbidden', 'Only owners and admins may invite members or change roles.');
  if (role === 'owner' && actor.role !== 'owner') throw new KeywayError('forbidden', 'Only an owner may make someone an owner.');
}

export function assertMayChangeRole(actor: Principal, target: MemberRecord, role: Role): void {
  assertMayGrant(actor, role);
  if (target.role === 'owner' && actor.role !== 'owner') throw new KeywayError('forbidden', 'Only an owner may change an owner\'s role.');
}

/** Anyone may leave; removing someone else takes an admin, and removing an owner takes an owner. */
export function assertMayRemove(actor: Principal, target: MemberRecord): void {
  if (target.id === actor.memberId) return;
  if (!isAdminRole(actor.role)) throw new KeywayError('forbidden', 'Only owners and admins may remove other members.');
  if (target.role === 'owner' && actor.role !== 'owner') throw new KeywayError('forbidden', 'Only an owner may remove an owner.');
}

export const LAST_OWNER = 'An organization needs at least one owner: make another member an owner first.';

export interface MemberDirectoryOptions {
  store: Store;
  /** How long a looked-up member is trusted before its row is read again. Default 500 ms, like API keys. */
  revalidateMs?: number;
  monotonic?: () => number;
}

/**
 * The current member behind a principal, on every API request: cached briefly (by member id), so a
 * role change or removal made by another process is seen within a second, and at once in this one
 * (`forget`).
 */
export class MemberDirectory {
  readonly #store: Store;
  readonly #revalidateMs: number;
  readonly #monotonic: () => number;
  readonly #cache = new Map<string, { member: MemberRecord | null; at: number }>();

  constructor(o: MemberDirectoryOptions) {
    this.#store = o.store;
    this.#revalidateMs = o.revalidateMs ?? 500;
    this.#monotonic = o.monotonic ?? (() => performance.now());
  }

  /**
   * `current` answered from memory when the member was read within `revalidateMs`; undefined when
   * the row must be read (then call `current`). Synchronous, for hot paths.
   */
  cached(orgId: string, memberId: string): MemberRecord | null | undefined {
    const hit = this.#cache.get(memberId);
    if (hit && this.#monotonic() - hit.at < this.#revalidateMs && (hit.member === null || hit.member.orgId === orgId)) return hit.member;
    return undefined;
  }

  /** The member if they still belong to the organization; null once removed (or never there). */
  async current(orgId: string, memberId: string): Promise<MemberRecord | null> {
    const tick = this.#monotonic();
    const known = this.cached(orgId, memberId);
    if (known !== undefined) return known;
    const rec = await this.#store.members.get(orgId, memberId);
    const member = rec && (rec.removedAt ?? null) === null ? rec : null;
    if (this.#cache.size >= 10_000) this.#cache.clear();
    this.#cache.set(memberId, { member, at: tick });
    return member;
  }

  forget(memberId: string): void {
    this.#cache.delete(memberId);
  }
}

/** A principal with its member's current role; unauthorized when the member is gone. */
export async function withRole(directory: MemberDirectory, p: Principal): Promise<Principal> {
  return principalWithRole(p, await directory.current(p.orgId, p.memberId));
}

/** `withRole` with the member already looked up (`MemberDirectory.cached`). */
export function principalWithRole(p: Principal, member: MemberRecord | null): Principal {
  if (!member) throw memberRemovedError();
  return { ...p, role: member.role };
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Which member each API key seen by this process belongs to, so entries the gateway writes (which
 * name only the key) carry the member too. Bounded; a key forgotten here is simply not annotated.
 */
export class KeyOwners {
  readonly #byKey = new Map<string, string>();

  remember(keyId: string | null, memberId: string): void {
    if (keyId === null || this.#byKey.get(keyId) === memberId) return;
    if (this.#byKey.size >= 50_000) this.#byKey.clear();
    this.#byKey.set(keyId, memberId);
  }

  memberOf(keyId: string): string | null {
    return this.#byKey.get(keyId) ?? null;
  }
}
