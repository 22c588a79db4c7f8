/**
 * Records for the store contract suite. Ids are fixed-width lowercase ASCII so that every database
 * collation orders them the same way as JavaScript does.
 */
import type {
  ApiKeyRecord, AuditRecord, ConnectAttemptRecord, ConnectionRecord, ConnectSessionRecord,
  IntegrationRecord, NewAuditRecord, Store,
} from '../../src/store/index.ts';

export const T0 = 1_700_000_000_000;
export const ORG_A = 'org_a';
export const ORG_B = 'org_b';
export const MEMBER_A = 'mem_a';
export const MEMBER_B = 'mem_b';
export const INT_A = 'int_a1';
export const INT_A2 = 'int_a2';
export const INT_B = 'int_b1';

/** Two organizations, a member each, two integrations in A and one in B. */
export async function seed(store: Store): Promise<void> {
  await store.orgs.insert({ id: ORG_A, name: 'Org A', createdAt: T0 });
  await store.orgs.insert({ id: ORG_B, name: 'Org B', createdAt: T0 + 1 });
  await store.members.insert({ id: MEMBER_A, orgId: ORG_A, email: 'a@example.test', name: 'Ann', role: 'owner', createdAt: T0 });
  await store.members.insert({ id: MEMBER_B, orgId: ORG_B, email: 'b@example.test', name: 'Bob', role: 'owner', createdAt: T0 });
  await store.integrations.insert(integration(INT_A));
  await store.integrations.insert(integration(INT_A2, { provider: 'google' }));
  await store.integrations.insert(integration(INT_B, { orgId: ORG_B }));
}

export function apiKey(id: string, over: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id, orgId: ORG_A, memberId: MEMBER_A, name: `key ${id}`, hash: `hash_${id}`, prefix: 'kw_abcd',
    scope: { integrations: [INT_A], connections: [], tokenRead: true, manage: false },
    createdAt: T0, lastUsedAt: null, revokedAt: null, rateLimitPerMinute: null, expiresAt: null, replacedBy: null, ...over,
  };
}

export function integration(id: string, over: Partial<IntegrationRecord> = {}): IntegrationRecord {
  return {
    id, orgId: ORG_A, provider: 'github', name: `Integration ${id}`, clientId: `client_${id}`,
    clientSecretEnc: `enc:secret:${id}`, scopes: ['repo', 'read:user'],
    config: { authorizationEndpoint: 'https://auth.example.test/authorize', nested: { pkce: true } }, privateKeyEnc: null,
    createdAt: T0, updatedAt: T0, ...over,
  };
}

export function connection(id: string, over: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    id, orgId: ORG_A, integrationId: INT_A, kind: 'oauth2', ownerMemberId: MEMBER_A, name: `Connection ${id}`,
    params: {}, providerValues: {}, refreshExpiresAt: null, accountLabel: null,
    externalId: null, metadata: { team: 'core' }, status: 'active', statusReason: null, statusSince: T0,
    requestedScopes: ['repo'], grantedScopes: ['repo'], accessTokenEnc: 'enc:at:0', refreshTokenEnc: 'enc:rt:0',
    tokenType: 'Bearer', expiresAt: T0 + 3_600_000, obtainedAt: T0, lastRefreshedAt: null, refreshFailures: 0,
    tokenVersion: 1, accountIssuer: 'https://issuer.example.test', accountSubject: 'sub-1',
    sharing: 'personal', shareLevel: null,
    createdAt: T0, updatedAt: T0, ...over,
  };
}

export function connectSession(id: string, over: Partial<ConnectSessionRecord> = {}): ConnectSessionRecord {
  return {
    id, orgId: ORG_A, integrationId: INT_A, tokenHash: `token_${id}`, createdByMemberId: MEMBER_A,
    grant: 'authorization_code', params: {}, scopes: null, reauthConnectionId: null, deviceCodeEnc: null, userCode: null,
    verificationUri: null, verificationUriComplete: null, pollIntervalS: null, nextPollAt: null,
    name: null, externalId: 'user-42', metadata: null, status: 'pending', connectionId: null, error: null,
    expiresAt: T0 + 600_000, createdAt: T0, ...over,
  };
}

export function connectAttempt(id: string, sessionId: string, over: Partial<ConnectAttemptRecord> = {}): ConnectAttemptRecord {
  return {
    id, orgId: ORG_A, sessionId, integrationId: INT_A, stateHash: `state_${id}`, browserHash: `browser_${id}`,
    verifierEnc: 'enc:verifier', nonce: 'n-1', issuer: null, redirectUri: 'https://keyway.example.test/callback',
    expiresAt: T0 + 600_000, usedAt: null, createdAt: T0, ...over,
  };
}

export function auditEntry(id: string, over: Partial<NewAuditRecord> = {}): NewAuditRecord {
  return {
    id, orgId: ORG_A, at: T0, actorType: 'member', actorId: MEMBER_A, action: 'connection.create',
    outcome: 'ok', integrationId: INT_A, connectionId: null, detail: { note: id }, ...over,
  };
}

/** An entry the table refuses (no action, a NOT NULL column): makes a batch fail part way. */
export function brokenAuditEntry(id: string): NewAuditRecord {
  return { ...auditEntry(id), action: null as unknown as string };
}

/** Ids of a page, for comparing orders. */
export const ids = (rows: Array<{ id: string }>): string[] => rows.map((r) => r.id);

/** Strips the store-assigned sequence number so an audit record compares with what was appended. */
export function withoutSeq(r: AuditRecord): NewAuditRecord {
  const { seq: _seq, ...rest } = r;
  return rest;
}
