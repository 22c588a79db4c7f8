import type { ProviderDefinition } from '../catalog/index.ts';
import type { ConnectionKind, ConnectionRecord, IntegrationRecord } from '../store/index.ts';
import type { AccountIdentity } from './identity.ts';

/** What the person or app chose for a new connection; the rest comes from the credential. */
export interface ConnectionChoices {
  name?: string | null | undefined;
  externalId?: string | null | undefined;
  metadata?: Record<string, unknown> | null | undefined;
  params?: Record<string, string> | undefined;
}

/**
 * A new connection row before any secret is sealed into it (the secrets are sealed with the row's
 * id as associated data, so the id comes first). Status active, no tokens yet. Unnamed, it takes
 * the integration's name (which the admin chose; "Custom OAuth" is only the generic definition's).
 */
export function blankConnection(input: {
  id: string; orgId: string; integration: IntegrationRecord; def: ProviderDefinition; kind: ConnectionKind;
  ownerMemberId: string | null; choices: ConnectionChoices; requestedScopes: string[];
  account: AccountIdentity | null; now: number;
}): ConnectionRecord {
  const { choices, now } = input;
  return {
    id: input.id, orgId: input.orgId, integrationId: input.integration.id, kind: input.kind, ownerMemberId: input.ownerMemberId,
    params: choices.params ?? {}, providerValues: {}, refreshExpiresAt: null,
    name: choices.name ?? input.integration.name, externalId: choices.externalId ?? null, metadata: choices.metadata ?? null,
    status: 'active', statusReason: null, statusSince: now,
    requestedScopes: input.requestedScopes, grantedScopes: input.requestedScopes,
    accessTokenEnc: null, refreshTokenEnc: null, tokenType: null, expiresAt: null, obtainedAt: now,
    lastRefreshedAt: null, refreshFailures: 0, tokenVersion: 1,
    accountIssuer: input.account?.issuer ?? null, accountSubject: input.account?.subject ?? null, accountLabel: input.account?.label ?? null,
    createdAt: now, updatedAt: now,
  };
}
