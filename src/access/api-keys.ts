import { hash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { KeywayError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { type Random, randomToken } from '../core/random.ts';
import type { ApiKeyRecord, ApiKeyScope, Role, Store } from '../store/index.ts';
import type { Actor } from '../audit/index.ts';

export const FULL_SCOPE: ApiKeyScope = { integrations: [], connections: [], tokenRead: true, manage: true };

/**
 * Who is calling: a member of one organization, through one of their API keys or a signed-in
 * session. What it may do is the key's scope within the member's role.
 */
export interface Principal {
  orgId: string;
  memberId: string;
  /** The API key calling; null for a signed-in session. */
  keyId: string | null;
  scope: ApiKeyScope;
  /**
   * The member's current role. Set on every API route (src/http/auth.ts); absent only on the
   * gateway's hot path, which decides use alone (sharing needs no role to decide use).
   */
  role?: Role;
  /** Set when a person signed in calls with the session cookie: the session's id (never its secret). */
  sessionId?: string;
}

/** What a call is audited as: the member, through their key (the key's id, its member in the detail) or their session. */
export function actorOf(p: Principal): Actor {
  if (p.keyId === null) return { type: 'member', id: p.memberId };
  return { type: 'api_key', id: p.keyId, memberId: p.memberId };
}

/** True when `a` is what `actorOf(p)` makes: the same key and member, or the same member's session. */
export function isActorOf(a: Actor, p: Principal): boolean {
  return p.keyId === null ? a.type === 'member' && a.id === p.memberId : a.type === 'api_key' && a.id === p.keyId && a.memberId === p.memberId;
}

/** A member who was removed (by this process or another) acts no more: their keys and sessions are refused. */
export function memberRemovedError(): KeywayError {
  return new KeywayError('unauthorized', 'The member this API key or session belongs to was removed from the organization.');
}

export function isAdminRole(role: Role | undefined): boolean {
  return role === 'owner' || role === 'admin';
}

const KEY_BYTES = 32;

/** What every Keyway API key looks like: `kw_` and the base64url of 32 random bytes (43 characters). */
const KEY_SHAPE = /^kw_[A-Za-z0-9_-]{43}$/;

/** True when `key` could be a Keyway API key; anything else is refused before it is hashed or looked up. */
export function isApiKeyShaped(key: string): boolean {
  return key.length === 46 && KEY_SHAPE.test(key);
}

/** SHA-256 of the key, hex: what is stored and looked up (one-shot `hash`, on every API call). */
export function hashKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** The longest a key may be made to last, in days (API `expiresInDays`, CLI `--expires-in-days`). */
export const MAX_KEY_DAYS = 3650;

const DAY_MS = 24 * 60 * 60 * 1000;

/** When a key made `now` to last `days` days expires (ms since the epoch). */
export function expiresInDays(now: number, days: number): number {
  return now + days * DAY_MS;
}

/** The longest an old key may keep working after it is rolled: a week. */
export const MAX_ROLL_GRACE_MINUTES = 7 * 24 * 60;

/**
 * Rolls a key: a new one with the same name, member, scope and rate limit (and, for a key that
 * expires, the same lifetime from now), and the old one revoked at once (`graceMinutes` 0) or left
 * working for `graceMinutes` more, so apps can move to the new key first. Only a key that still
 * works and was not rolled before can be rolled; the old key's end and the new key are written in
 * one transaction, so of two rolls at once one wins and the other is a conflict.
 */
export async function rollApiKey(
  deps: { store: Store; random: Random; clock: Clock },
  old: ApiKeyRecord,
  graceMinutes: number,
  /** Checks the new key before it is stored (throws to refuse it): what its caller may hand out. */
  check: (successor: ApiKeyRecord) => void = () => {},
): Promise<{ record: ApiKeyRecord; key: string; oldEndsAt: number }> {
  if (!Number.isInteger(graceMinutes) || graceMinutes < 0 || graceMinutes > MAX_ROLL_GRACE_MINUTES) {
    throw new KeywayError('invalid_request', `The grace period must be whole minutes from 0 (the old key stops at once) to ${MAX_ROLL_GRACE_MINUTES} (a week).`);
  }
  const now = deps.clock.now();
  if (old.revokedAt !== null) throw new KeywayError('conflict', `API key ${old.id} is revoked, so there is nothing to roll; create a new key instead.`);
  if (old.replacedBy !== null) throw new KeywayError('conflict', `API key ${old.id} was already rolled into ${old.replacedBy}; roll that one instead.`);
  if (old.expiresAt !== null && old.expiresAt <= now) {
    throw new KeywayError('conflict', `API key ${old.id} has expired, so there is nothing to roll; create a new key instead.`);
  }
  const lifetime = old.expiresAt === null ? null : Math.min(old.expiresAt - old.createdAt, MAX_KEY_DAYS * DAY_MS);
  const made = mintApiKey(deps, {
    orgId: old.orgId, memberId: old.memberId, name: old.name, scope: old.scope, rateLimitPerMinute: old.rateLimitPerMinute,
    expiresAt: lifetime === null ? null : now + lifetime,
  });
  check(made.record);
  const endsAt = graceMinutes === 0 ? now : Math.min(old.expiresAt ?? Infinity, now + graceMinutes * 60_000);
  const rolled = await deps.store.apiKeys.roll(old.orgId, old.id, made.record, graceMinutes === 0 ? { revokedAt: now } : { expiresAt: endsAt });
  if (rolled === 'member_removed') throw memberRemovedError();
  if (rolled === 'key_ended') throw new KeywayError('conflict', `API key ${old.id} was rolled or revoked meanwhile; list the keys to see which one to use.`);
  return { ...made, oldEndsAt: endsAt };
}

interface NewKeyInput {
  orgId: string;
  memberId: string;
  name: string;
  scope?: ApiKeyScope;
  rateLimitPerMinute?: number | null;
  expiresAt?: number | null;
}

/**
 * Creates a key; the plain key is returned once and only its hash is stored. It is stored only
 * while its member is still a member: a member removed by another process a moment ago (this one
 * may still trust them for up to 500 ms) gets no new key.
 */
export async function createApiKey(deps: { store: Store; random: Random; clock: Clock }, input: NewKeyInput): Promise<{ record: ApiKeyRecord; key: string }> {
  const made = mintApiKey(deps, input);
  if (!(await deps.store.apiKeys.insertForMember(made.record))) throw memberRemovedError();
  return made;
}

/** A new key and its record, not yet stored. */
function mintApiKey(deps: { random: Random; clock: Clock }, input: NewKeyInput): { record: ApiKeyRecord; key: string } {
  const key = `kw_${randomToken(deps.random, KEY_BYTES)}`;
  const record: ApiKeyRecord = {
    id: newId('apiKey', deps.random), orgId: input.orgId, memberId: input.memberId, name: input.name,
    hash: hashKey(key), prefix: key.slice(0, 10), scope: input.scope ?? FULL_SCOPE,
    createdAt: deps.clock.now(), lastUsedAt: null, revokedAt: null, rateLimitPerMinute: input.rateLimitPerMinute ?? null,
    expiresAt: input.expiresAt ?? null, replacedBy: null,
  };
  return { record, key };
}

/** Organization administration (integrations, webhooks, audit, members, invites): owners and admins, with a key that may manage. */
export function requireManage(p: Principal): void {
  requireKeyManage(p);
  if (p.role !== undefined && !isAdminRole(p.role)) {
    throw new KeywayError('forbidden', 'Only owners and admins of the organization may do this; your role is member.');
  }
}

/** The key may manage what its member may (their own keys and connections); a use-only key may not. */
export function requireKeyManage(p: Principal): void {
  if (!p.scope.manage) throw new KeywayError('forbidden', 'This API key may only use connections; ask an admin for a key that may manage integrations.');
}

export function requireTokenRead(p: Principal): void {
  if (!p.scope.tokenRead) throw new KeywayError('forbidden', 'This API key may call providers through the proxy but may not read raw tokens.');
}

export function canUseIntegration(p: Principal, integrationId: string): boolean {
  return p.scope.integrations.length === 0 || p.scope.integrations.includes(integrationId);
}

/** The key's own scope allows this connection (before sharing is considered: see sharing.ts). */
export function withinKeyScope(p: Principal, c: { id: string; integrationId: string }): boolean {
  return canUseIntegration(p, c.integrationId) && (p.scope.connections.length === 0 || p.scope.connections.includes(c.id));
}

/**
 * A key may only hand out what it has: a new key's scope must lie within its creator's (no wider
 * integration or connection lists, no token reading or managing the creator lacks).
 */
export function requireScopeWithin(p: Principal, wanted: ApiKeyScope): void {
  const have = p.scope;
  const within = (mine: string[], theirs: string[]) => mine.length === 0 || (theirs.length > 0 && theirs.every((x) => mine.includes(x)));
  const problems: string[] = [];
  if (!within(have.integrations, wanted.integrations)) problems.push('integrations outside its own');
  if (!within(have.connections, wanted.connections)) problems.push('connections outside its own');
  if (wanted.tokenRead && !have.tokenRead) problems.push('reading tokens');
  if (wanted.manage && !have.manage) problems.push('managing');
  if (problems.length > 0) {
    throw new KeywayError('forbidden', `This API key cannot create a key with more access than its own (${problems.join(', ')}).`);
  }
}
