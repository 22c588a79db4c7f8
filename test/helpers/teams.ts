/**
 * People for the teams tests: members who joined by invite (signed in through the invite link),
 * organizations made by an owner, their sessions and API keys, and connections they made.
 */
import assert from 'node:assert/strict';
import type { SandboxServer } from '../../src/sandbox/index.ts';
import { CookieJar } from './browserless.ts';
import { type ApiResponse, type TestKeyway, startAndAuthorize } from './keyway.ts';

export interface Person {
  orgId: string;
  memberId: string;
  email: string;
  /** An API key of theirs that may read tokens and manage. */
  key: string;
  /** Their signed-in browser. */
  jar: CookieJar;
  csrf: string;
}

/** A JSON API call with a browser's session cookie (and, when given, its CSRF token). */
export async function sessionApi(t: TestKeyway, jar: CookieJar, method: string, path: string, body?: unknown, csrf?: string, extra: Record<string, string> = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...extra };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (csrf !== undefined) headers['x-keyway-csrf'] = csrf;
  const res = await jar.fetch(`${t.kw.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

/** Presses the button of a one-time link page (login link or invite) in a fresh browser; returns it signed in. */
export async function followLink(t: TestKeyway, url: string, jar = new CookieJar()): Promise<{ jar: CookieJar; csrf: string; memberId: string; orgId: string; response: Response }> {
  const page = await jar.fetch(url);
  assert.equal(page.status, 200, await page.text());
  const response = await jar.fetch(url, { method: 'POST' });
  assert.equal(response.status, 303, await response.clone().text());
  const me = await sessionApi(t, jar, 'GET', '/v1/me');
  assert.equal(me.status, 200, JSON.stringify(me.body));
  return { jar, csrf: me.body.session.csrfToken, memberId: me.body.member.id, orgId: me.body.org.id, response };
}

/** A key for a signed-in person, made through their session (as the dashboard will). */
export async function keyFor(t: TestKeyway, jar: CookieJar, csrf: string, scope: Record<string, unknown> = { tokenRead: true, manage: true }): Promise<string> {
  const created = await sessionApi(t, jar, 'POST', '/v1/api-keys', { name: 'test key', scope }, csrf);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.key;
}

/** Invites `email` with `role` (by `inviterKey`) and has them accept through the link. */
export async function invitePerson(t: TestKeyway, inviterKey: string, email: string, role: 'owner' | 'admin' | 'member' = 'member'): Promise<Person> {
  const inv = await t.api('POST', '/v1/invites', { email, role }, inviterKey);
  assert.equal(inv.status, 201, JSON.stringify(inv.body));
  const s = await followLink(t, inv.body.inviteUrl);
  return { orgId: s.orgId, memberId: s.memberId, email, key: await keyFor(t, s.jar, s.csrf), jar: s.jar, csrf: s.csrf };
}

/** A new organization made by an owner (through `ownerKey`), its owner signed in there with a key. */
export async function newOrg(t: TestKeyway, ownerKey: string, name: string): Promise<Person> {
  const made = await t.api('POST', '/v1/orgs', { name }, ownerKey);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const s = await followLink(t, made.body.signInUrl);
  assert.equal(s.orgId, made.body.id);
  return { orgId: s.orgId, memberId: s.memberId, email: made.body.owner.email, key: await keyFor(t, s.jar, s.csrf), jar: s.jar, csrf: s.csrf };
}

/** Adds a custom integration (discovered from the provider) with `key`, its API at the sandbox's /api. */
export async function integrationFor(t: TestKeyway, provider: SandboxServer, key: string, clientId: string): Promise<string> {
  const res = await t.api('POST', '/v1/integrations', {
    provider: 'custom', clientId, clientSecret: 'teams-secret-7c1d', issuer: provider.issuer,
    scopes: ['openid', 'profile', 'items:read'], apiBaseUrl: `${provider.issuer}/api`,
  }, key);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  await provider.sandbox.registerClient({ clientId, clientSecret: 'teams-secret-7c1d', redirectUris: [res.body.redirectUri] });
  return res.body.id;
}

/** Connects the sandbox account `username` through a connect session started with `key`; returns the connection id. */
export async function connectAs(t: TestKeyway, provider: SandboxServer, integration: string, key: string, username: string): Promise<string> {
  const created = await t.api('POST', '/v1/connect-sessions', { integration, name: `${username}'s account` }, key);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const jar = new CookieJar();
  const { callbackUrl } = await startAndAuthorize(created.body.connectUrl, provider, jar, { username });
  const page = await jar.fetch(callbackUrl);
  assert.equal(page.status, 200, await page.text());
  const session = await t.api('GET', `/v1/connect-sessions/${created.body.id}`, undefined, key);
  assert.equal(session.body.status, 'connected');
  return session.body.connection;
}

/** A call through the gateway with `key`. */
export async function proxyCall(t: TestKeyway, key: string, connection: string, path = 'me'): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${t.kw.url}/v1/proxy/${connection}/${path}`, { headers: { authorization: `Bearer ${key}` } });
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON: the text is the body */ }
  return { status: res.status, body };
}

/** The audit entries for one action, newest first (admin key). */
export async function auditOf(t: TestKeyway, action: string, key = t.apiKey): Promise<Array<Record<string, any>>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await t.api('GET', `/v1/audit?action=${encodeURIComponent(action)}&limit=200`, undefined, key);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data;
}
