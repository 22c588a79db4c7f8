import { defineTable } from './table.ts';
import type {
  ApiKeyRecord, AuditRecord, ConnectAttemptRecord, ConnectionRecord, ConnectSessionRecord,
  DataKeyRecord, IntegrationRecord, InviteRecord, LoginLinkRecord, MemberRecord, OrgRecord, SessionRecord,
  SignInAttemptRecord, WebhookDeliveryRecord, WebhookEndpointRecord,
} from '../records.ts';

export const orgs = defineTable<OrgRecord>('orgs', {
  id: ['id', 'text'], name: ['name', 'text'], createdAt: ['created_at', 'int'],
});

export const members = defineTable<MemberRecord>('members', {
  id: ['id', 'text'], orgId: ['org_id', 'text'], email: ['email', 'text'], name: ['name', 'text'],
  role: ['role', 'text'], createdAt: ['created_at', 'int'], removedAt: ['removed_at', 'int'],
  oidcIssuer: ['oidc_issuer', 'text'], oidcSubject: ['oidc_subject', 'text'],
});

export const apiKeys = defineTable<ApiKeyRecord>('api_keys', {
  id: ['id', 'text'], orgId: ['org_id', 'text'], memberId: ['member_id', 'text'], name: ['name', 'text'],
  hash: ['hash', 'text'], prefix: ['prefix', 'text'], scope: ['scope', 'json'],
  createdAt: ['created_at', 'int'], lastUsedAt: ['last_used_at', 'int'], revokedAt: ['revoked_at', 'int'],
  rateLimitPerMinute: ['rate_limit_per_minute', 'int'], expiresAt: ['expires_at', 'int'], replacedBy: ['replaced_by', 'text'],
});

export const dataKeys = defineTable<DataKeyRecord>('data_keys', {
  id: ['id', 'text'], orgId: ['org_id', 'text'], masterKid: ['master_kid', 'text'],
  wrapped: ['wrapped', 'text'], createdAt: ['created_at', 'text'],
});

export const integrations = defineTable<IntegrationRecord>('integrations', {
  id: ['id', 'text'], orgId: ['org_id', 'text'], provider: ['provider', 'text'], name: ['name', 'text'],
  clientId: ['client_id', 'text'], clientSecretEnc: ['client_secret_enc', 'text'], scopes: ['scopes', 'json'],
  config: ['config', 'json'], privateKeyEnc: ['private_key_enc', 'text'],
  createdAt: ['created_at', 'int'], updatedAt: ['updated_at', 'int'],
});

export const connections = defineTable<ConnectionRecord>('connections', {
  id: ['id', 'text'], orgId: ['org_id', 'text'], integrationId: ['integration_id', 'text'], kind: ['kind', 'text'],
  params: ['params', 'json'], providerValues: ['provider_values', 'json'], refreshExpiresAt: ['refresh_expires_at', 'int'],
  accountLabel: ['account_label', 'text'],
  ownerMemberId: ['owner_member_id', 'text'], name: ['name', 'text'], externalId: ['external_id', 'text'],
  metadata: ['metadata', 'json'], status: ['status', 'text'], statusReason: ['status_reason', 'text'],
  statusSince: ['status_since', 'int'], requestedScopes: ['requested_scopes', 'json'],
  grantedScopes: ['granted_scopes', 'json'], accessTokenEnc: ['access_token_enc', 'text'],
  refreshTokenEnc: ['refresh_token_enc', 'text'], tokenType: ['token_type', 'text'],
  expiresAt: ['expires_at', 'int'], obtainedAt: ['obtained_at', 'int'], lastRefreshedAt: ['last_refreshed_at', 'int'],
  refreshFailures: ['refresh_failures', 'int'], tokenVersion: ['token_version', 'int'],
  accountIssuer: ['account_issuer', 'text'], accountSubject: ['account_subject', 'text'],
  sharing: ['sharing', 'text'], shareLevel: ['share_level', 'text'],
  createdAt: ['created_at', 'int'], updatedAt: ['updated_at', 'int'],
});

/** The few columns of a connection that tell whether a cached row is still the stored one. */
export type ConnectionStampFields = Pick<ConnectionRecord, 'tokenVersion' | 'status' | 'updatedAt' | 'ownerMemberId' | 'sharing' | 'shareLevel' | 'refreshFailures' | 'expiresAt'>;

export const connectSessions = defineTable<ConnectSessionRecord>('connect_sessions', {
  id: ['id', 'text'], orgId: ['org_id', 'text'], integrationId: ['integration_id', 'text'],
  grant: ['grant_type', 'text'], params: ['params', 'json'], scopes: ['scopes', 'json'],
  reauthConnectionId: ['reauth_connection_id', 'text'], deviceCodeEnc: ['device_code_enc', 'text'],
  userCode: ['user_code', 'text'], verificationUri: ['verification_uri', 'text'],
  verificationUriComplete: ['verification_uri_complete', 'text'], pollIntervalS: ['poll_interval_s', 'int'],
  nextPollAt: ['next_poll_at', 'int'],
  tokenHash: ['token_hash', 'text'], createdByMemberId: ['created_by_member_id', 'text'], name: ['name', 'text'],
  externalId: ['external_id', 'text'], metadata: ['metadata', 'json'], status: ['status', 'text'],
  connectionId: ['connection_id', 'text'], error: ['error', 'text'], expiresAt: ['expires_at', 'int'],
  createdAt: ['created_at', 'int'],
});

export const connectAttempts = defineTable<ConnectAttemptRecord>('connect_attempts', {
  id: ['id', 'text'], orgId: ['org_id', 'text'], sessionId: ['session_id', 'text'],
  integrationId: ['integration_id', 'text'], stateHash: ['state_hash', 'text'], browserHash: ['browser_hash', 'text'],
  verifierEnc: ['verifier_enc', 'text'], nonce: ['nonce', 'text'], issuer: ['issuer', 'text'],
  redirectUri: ['redirect_uri', 'text'], expiresAt: ['expires_at', 'int'], usedAt: ['used_at', 'int'],
  createdAt: ['created_at', 'int'],
});

export const auditLog = defineTable<AuditRecord>('audit_log', {
  seq: ['seq', 'int'], id: ['id', 'text'], orgId: ['org_id', 'text'], at: ['at', 'int'],
  actorType: ['actor_type', 'text'], actorId: ['actor_id', 'text'], action: ['action', 'text'],
  outcome: ['outcome', 'text'], integrationId: ['integration_id', 'text'], connectionId: ['connection_id', 'text'],
  detail: ['detail', 'json'],
});

export const webhookEndpoints = defineTable<WebhookEndpointRecord>('webhook_endpoints', {
  id: ['id', 'text'], orgId: ['org_id', 'text'], url: ['url', 'text'], secretEnc: ['secret_enc', 'text'],
  events: ['events', 'json'], description: ['description', 'text'], createdAt: ['created_at', 'int'],
});

export const webhookDeliveries = defineTable<WebhookDeliveryRecord>('webhook_deliveries', {
  id: ['id', 'text'], orgId: ['org_id', 'text'], endpointId: ['endpoint_id', 'text'], eventId: ['event_id', 'text'],
  eventType: ['event_type', 'text'], payload: ['payload', 'text'], status: ['status', 'text'], attempts: ['attempts', 'int'],
  nextAttemptAt: ['next_attempt_at', 'int'], lastStatusCode: ['last_status_code', 'int'], lastError: ['last_error', 'text'],
  createdAt: ['created_at', 'int'], deliveredAt: ['delivered_at', 'int'],
});

export const sessions = defineTable<SessionRecord>('sessions', {
  id: ['id', 'text'], orgId: ['org_id', 'text'], memberId: ['member_id', 'text'], hash: ['hash', 'text'],
  method: ['method', 'text'], createdAt: ['created_at', 'int'], lastSeenAt: ['last_seen_at', 'int'], expiresAt: ['expires_at', 'int'],
});

export const loginLinks = defineTable<LoginLinkRecord>('login_links', {
  id: ['id', 'text'], orgId: ['org_id', 'text'], memberId: ['member_id', 'text'], tokenHash: ['token_hash', 'text'],
  expiresAt: ['expires_at', 'int'], usedAt: ['used_at', 'int'], createdAt: ['created_at', 'int'],
});

export const invites = defineTable<InviteRecord>('invites', {
  id: ['id', 'text'], orgId: ['org_id', 'text'], email: ['email', 'text'], role: ['role', 'text'],
  tokenHash: ['token_hash', 'text'], invitedByMemberId: ['invited_by_member_id', 'text'], expiresAt: ['expires_at', 'int'],
  acceptedAt: ['accepted_at', 'int'], acceptedMemberId: ['accepted_member_id', 'text'], revokedAt: ['revoked_at', 'int'],
  createdAt: ['created_at', 'int'],
});

export const signInAttempts = defineTable<SignInAttemptRecord>('sign_in_attempts', {
  id: ['id', 'text'], orgId: ['org_id', 'text'], stateHash: ['state_hash', 'text'], browserHash: ['browser_hash', 'text'],
  nonce: ['nonce', 'text'], inviteId: ['invite_id', 'text'], returnTo: ['return_to', 'text'],
  expiresAt: ['expires_at', 'int'], usedAt: ['used_at', 'int'], createdAt: ['created_at', 'int'],
});
