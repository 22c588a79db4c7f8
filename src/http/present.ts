import { iso } from '../core/clock.ts';
import { type ProviderDefinition, type ResolvedProvider, providerNotes } from '../catalog/index.ts';
import type { AuditRecord, ConnectionRecord, ConnectSessionRecord, IntegrationRecord, MemberRecord } from '../store/index.ts';
import type { ConnectionAccess } from '../access/index.ts';

/** Records as the API shows them: camelCase, ISO times, never a secret. */
export function presentProvider(d: ProviderDefinition) {
  return {
    id: d.id, name: d.name, logo: d.logo ?? null, categories: d.categories, docs: d.docs ?? null,
    credential: d.credential, grants: d.grants,
    scopes: { default: d.scopes.default, available: d.scopes.available, separator: d.scopes.separator },
    pkce: d.pkce.enabled, pkceDisabledReason: d.pkce.enabled ? null : d.pkce.reason,
    refresh: d.refresh.kind, apiBaseUrls: d.api.baseUrls, setup: d.setup ?? null,
    connectionParams: Object.entries(d.connectionParams).map(([name, p]) => ({
      name, label: p.label, pattern: p.pattern, example: p.example ?? null, default: p.default ?? null, help: p.help ?? null,
    })),
    quirks: d.quirks ?? null, notes: providerNotes(d),
    authParams: d.authParams, clientAuth: d.clientAuth, refreshTokenLifetimeDays: d.refresh.refreshTokenLifetimeDays ?? null, apiInject: d.api.inject,
  };
}

export function presentIntegration(r: IntegrationRecord, redirectUri: string, p: ResolvedProvider) {
  return {
    id: r.id, provider: r.provider, name: r.name, clientId: r.clientId, hasClientSecret: r.clientSecretEnc !== null, hasPrivateKey: r.privateKeyEnc !== null,
    scopes: r.scopes, redirectUri,
    endpoints: {
      issuer: p.issuer, authorizationUrl: p.authorizationEndpoint, tokenUrl: p.tokenEndpoint,
      revocationUrl: p.revocationEndpoint, apiBaseUrls: p.apiBaseUrls, parUrl: p.parEndpoint,
    },
    pushedAuthorization: p.usePar,
    createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt),
  };
}

/**
 * A connection as the API shows it. With the integration's current scopes, scopes added to the
 * integration since the person consented are named too (re-authenticate to get them).
 */
export function presentConnection(c: ConnectionRecord, integrationScopes?: string[]) {
  const missing = c.requestedScopes.filter((s) => !c.grantedScopes.includes(s));
  const added = (integrationScopes ?? []).filter((s) => !c.requestedScopes.includes(s) && !c.grantedScopes.includes(s));
  const notes = [
    ...(missing.length > 0 ? [`The person approved fewer scopes than requested; missing: ${missing.join(', ')}. Re-authenticate to ask again.`] : []),
    ...(added.length > 0 ? [`The integration now asks for ${added.join(', ')}; re-authenticate to get the new scopes.`] : []),
  ];
  return {
    id: c.id, name: c.name, integration: c.integrationId, type: c.kind, externalId: c.externalId, metadata: c.metadata,
    params: c.params, providerValues: c.providerValues,
    account: c.accountSubject === null ? null : { issuer: c.accountIssuer, subject: c.accountSubject, label: c.accountLabel },
    status: c.status, statusReason: c.statusReason, statusSince: iso(c.statusSince),
    requestedScopes: c.requestedScopes, grantedScopes: c.grantedScopes, missingScopes: missing, newIntegrationScopes: added,
    scopeNote: notes.length > 0 ? notes.join(' ') : null,
    hasRefreshToken: c.refreshTokenEnc !== null,
    accessTokenExpiresAt: c.expiresAt === null ? null : iso(c.expiresAt),
    refreshTokenExpiresAt: c.refreshExpiresAt === null ? null : iso(c.refreshExpiresAt),
    createdAt: iso(c.createdAt), lastRefreshedAt: c.lastRefreshedAt === null ? null : iso(c.lastRefreshedAt),
  };
}

/** The device flow's fields; absent on a browser session. (Typed here: inferred, `{} | {…}` collapses to `{}`.) */
interface DeviceFields {
  userCode?: string | null;
  verificationUri?: string | null;
  verificationUriComplete?: string;
  interval?: number | null;
}

/** What the person is shown for a device-flow session (RFC 8628 §3.2); `verificationUriComplete` only when the provider gave one. */
function deviceFields(s: ConnectSessionRecord): DeviceFields {
  if (s.grant !== 'device_code') return {};
  return {
    userCode: s.userCode, verificationUri: s.verificationUri,
    ...(s.verificationUriComplete ? { verificationUriComplete: s.verificationUriComplete } : {}),
    interval: s.pollIntervalS,
  };
}

export function presentSession(s: ConnectSessionRecord) {
  return {
    id: s.id, integration: s.integrationId, grant: s.grant, status: s.status, connection: s.connectionId, error: s.error,
    params: s.params, reauthorizes: s.reauthConnectionId, ...deviceFields(s),
    name: s.name, externalId: s.externalId, expiresAt: iso(s.expiresAt), createdAt: iso(s.createdAt),
  };
}

/** The answer to starting a session: a connect link, or (device flow) the code and where to enter it. */
export function presentStartedSession(s: ConnectSessionRecord, connectUrl: string | null) {
  return {
    id: s.id, ...(connectUrl !== null ? { connectUrl } : {}), ...deviceFields(s),
    ...(s.reauthConnectionId ? { reauthorizes: s.reauthConnectionId } : {}), expiresAt: iso(s.expiresAt),
  };
}

export function presentAudit(a: AuditRecord) {
  return {
    id: a.id, at: iso(a.at), actor: { type: a.actorType, id: a.actorId }, action: a.action, outcome: a.outcome,
    integration: a.integrationId, connection: a.connectionId, detail: a.detail,
  };
}

/**
 * Who a connection is shared with, who authorized it, and what the caller may do with it and why.
 * A connection whose owner left stays usable but says so: its tokens still act as that person.
 */
export function presentSharing(c: ConnectionRecord, access: ConnectionAccess, owner: MemberRecord | null) {
  const former = owner === null || (owner.removedAt ?? null) !== null;
  return {
    sharing: c.sharing ?? 'personal', shareLevel: c.shareLevel ?? null,
    owner: owner === null ? null : { id: owner.id, name: owner.name, email: owner.email, formerMember: former },
    authorizedByFormerMember: former,
    ownerNote: former
      ? `Authorized by a former member${owner ? ` (${owner.email})` : ''}: its tokens still act as that person at the provider. An admin should re-authenticate it as a current member (POST /v1/connections/${c.id}/reauthorize; whoever completes it becomes the owner) or disconnect it.`
      : null,
    access: { via: access.via, canReadToken: access.canReadToken, canManage: access.canManage, canChangeSharing: access.canChangeSharing },
  };
}

export function presentMember(m: MemberRecord) {
  return {
    id: m.id, email: m.email, name: m.name, role: m.role, singleSignOn: (m.oidcSubject ?? null) !== null,
    createdAt: iso(m.createdAt), removedAt: (m.removedAt ?? null) === null ? null : iso(m.removedAt as number),
  };
}
