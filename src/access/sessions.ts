import { hash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { newId } from '../core/ids.ts';
import { type Random, randomToken } from '../core/random.ts';
import type { MemberRecord, SessionRecord, SignInMethod, Store } from '../store/index.ts';
import type { Principal } from './api-keys.ts';

export interface SessionPolicy {
  /** A session nobody used for this long ends. */
  idleMs: number;
  /** A session ends this long after sign-in, used or not. */
  absoluteMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMs: 12 * 3_600_000, absoluteMs: 7 * 24 * 3_600_000 };

/** Activity is written at most this often (the idle timeout is this precise). */
const TOUCH_EVERY_MS = 60_000;

/** What a signed-in person acts with: everything their role allows, except reading raw tokens (the browser never sees one). */
export const SESSION_SCOPE = { integrations: [], connections: [], tokenRead: false, manage: true } as const;

export function sha256Hex(s: string): string {
  return hash('sha256', s, 'hex');
}

export interface SessionServiceDeps {
  store: Store;
  clock: Clock;
  random: Random;
  policy?: SessionPolicy;
}

/**
 * Server-side sessions for people. The cookie carries a random secret; only its SHA-256 is stored,
 * so the table alone signs nobody in. A new session is made at every sign-in and the one the
 * browser had is ended (no session fixation).
 */
export class SessionService {
  readonly #d: SessionServiceDeps;
  readonly policy: SessionPolicy;

  constructor(deps: SessionServiceDeps) {
    this.#d = deps;
    this.policy = deps.policy ?? DEFAULT_SESSION_POLICY;
  }

  /** Signs a member in: a new session (the previous one of this browser, if any, ends). */
  async start(member: MemberRecord, method: SignInMethod, previousSecret?: string): Promise<{ record: SessionRecord; secret: string }> {
    if (previousSecret) await this.end(previousSecret);
    const now = this.#d.clock.now();
    const secret = randomToken(this.#d.random, 32);
    const record: SessionRecord = {
      id: newId('session', this.#d.random), orgId: member.orgId, memberId: member.id, hash: sha256Hex(secret),
      method, createdAt: now, lastSeenAt: now, expiresAt: now + this.policy.absoluteMs,
    };
    await this.#d.store.sessions.insert(record);
    await this.#d.store.sessions.purgeExpired(now, now - this.policy.idleMs);
    return { record, secret };
  }

  /** The live session for a cookie's secret, or null (unknown, idle too long, past its end). */
  async resolve(secret: string): Promise<SessionRecord | null> {
    const rec = await this.#d.store.sessions.findByHash(sha256Hex(secret));
    if (!rec) return null;
    const now = this.#d.clock.now();
    if (rec.expiresAt <= now || now - rec.lastSeenAt >= this.policy.idleMs) {
      await this.#d.store.sessions.delete(rec.id);
      return null;
    }
    if (now - rec.lastSeenAt >= TOUCH_EVERY_MS) await this.#d.store.sessions.touch(rec.id, now);
    return rec;
  }

  /** Signs out: the session ends for good. Returns it, or null when there was none. */
  async end(secret: string): Promise<SessionRecord | null> {
    const rec = await this.#d.store.sessions.findByHash(sha256Hex(secret));
    if (rec) await this.#d.store.sessions.delete(rec.id);
    return rec;
  }

  /**
   * The session's CSRF token, sent back by the page in `X-Keyway-CSRF` on every state-changing
   * request. Derived from the cookie's secret (which a page script cannot read), so nothing more is stored.
   */
  csrfToken(secret: string): string {
    return hash('sha256', `keyway-csrf:${secret}`, 'base64url');
  }
}

/** A signed-in person as a principal: their member, with everything the role allows except raw tokens. */
export function sessionPrincipal(session: SessionRecord, member: MemberRecord): Principal {
  return {
    orgId: session.orgId, memberId: session.memberId, keyId: null, sessionId: session.id, role: member.role,
    scope: { ...SESSION_SCOPE, integrations: [], connections: [] },
  };
}
