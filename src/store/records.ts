/**
 * Records as the store hands them out. Times are milliseconds since the epoch (the API turns them
 * into ISO strings). Fields ending in `Enc` hold vault envelopes: never shown, never logged.
 */
export type Role = 'owner' | 'admin' | 'member';

export interface OrgRecord {
  id: string;
  name: string;
  createdAt: number;
}

export interface MemberRecord {
  id: string;
  orgId: string;
  email: string;
  name: string;
  role: Role;
  createdAt: number;
  /** Set when the member was removed (the row stays, so what they did and authorized still names them). */
  removedAt?: number | null;
  /** The OpenID Connect identity (iss + sub) the member signs in with, recorded at the first SSO sign-in. */
  oidcIssuer?: string | null;
  oidcSubject?: string | null;
}

/** What an API key may reach. Empty lists mean "all" of that kind. */
export interface ApiKeyScope {
  integrations: string[];
  connections: string[];
  /** May read raw tokens (`GET /v1/connections/{id}/token`), not only proxy. */
  tokenRead: boolean;
  /** May manage integrations, keys and connections (admin-like); otherwise only use. */
  manage: boolean;
}

export interface ApiKeyRecord {
  id: string;
  orgId: string;
  memberId: string;
  name: string;
  /** SHA-256 of the key, hex. The key itself is never stored. */
  hash: string;
  /** The first characters of the key, to recognise it in a list. */
  prefix: string;
  scope: ApiKeyScope;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
  /** Requests per minute this key may make; null means the server's default. */
  rateLimitPerMinute: number | null;
  /** The key this one was rolled into (it then ends at once or after a grace period); null: not rolled. */
  replacedBy: string | null;
  /** From this moment (ms since the epoch) the key is refused, as if revoked; null: it does not expire. */
  expiresAt: number | null;
}

export interface IntegrationRecord {
  id: string;
  orgId: string;
  provider: string;
  name: string;
  clientId: string;
  clientSecretEnc: string | null;
  scopes: string[];
  /** Provider settings resolved at creation: endpoints (custom/discovered), issuer, etc. Never secret. */
  config: Record<string, unknown>;
  /** PEM private key for `private_key_jwt` client authentication (vault envelope), if any. */
  privateKeyEnc: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Who may use a connection besides its owner: nobody (`personal`), or the organization (`shared`). */
export type ConnectionSharing = 'personal' | 'shared';
/** What sharing allows: `use` (proxy calls only, never the raw token) or `manage` (also re-authenticate, rename, disconnect). */
export type ShareLevel = 'use' | 'manage';

export type ConnectionStatus = 'active' | 'refresh_failing' | 'needs_reauth';
/** How the connection holds its credential: user OAuth, machine OAuth, or a static secret. */
export type ConnectionKind = 'oauth2' | 'client_credentials' | 'api_key' | 'basic';

export interface ConnectionRecord {
  id: string;
  orgId: string;
  integrationId: string;
  kind: ConnectionKind;
  ownerMemberId: string | null;
  name: string;
  externalId: string | null;
  metadata: Record<string, unknown> | null;
  /** Connection values the definition's URL templates take (subdomain, tenant, shop…). Not secret. */
  params: Record<string, string>;
  /** Values kept from token responses as the definition says (instance_url, team id…). Not secret. */
  providerValues: Record<string, string>;
  status: ConnectionStatus;
  statusReason: string | null;
  statusSince: number;
  requestedScopes: string[];
  grantedScopes: string[];
  accessTokenEnc: string | null;
  refreshTokenEnc: string | null;
  tokenType: string | null;
  /** Access-token expiry; null when the provider gave no lifetime. */
  expiresAt: number | null;
  /** When the current access token was obtained (for the 15%-of-lifetime rule). */
  obtainedAt: number | null;
  /** Refresh-token expiry when the provider or definition gives one; null when unknown or never. */
  refreshExpiresAt: number | null;
  lastRefreshedAt: number | null;
  refreshFailures: number;
  /** Bumped on every token write; caches compare it. */
  tokenVersion: number;
  /** Account identity at the provider (OIDC iss + sub), for re-authentication checks. */
  accountIssuer: string | null;
  accountSubject: string | null;
  /** A human name for the account (email, login) to tell people which account this is. */
  accountLabel: string | null;
  /** Absent on a record not yet stored means `personal`; the store always returns it. */
  sharing?: ConnectionSharing;
  /** Set when shared; null when personal. */
  shareLevel?: ShareLevel | null;
  createdAt: number;
  updatedAt: number;
}

export type ConnectSessionStatus = 'pending' | 'connected' | 'failed' | 'denied' | 'expired';
export type ConnectGrant = 'authorization_code' | 'device_code';

export interface ConnectSessionRecord {
  id: string;
  orgId: string;
  integrationId: string;
  grant: ConnectGrant;
  /** Connection values for the definition's URL templates, validated at creation. */
  params: Record<string, string>;
  /** Scopes to request; null means the integration's. */
  scopes: string[] | null;
  /** Set for a re-authentication: the connection whose tokens this session replaces. */
  reauthConnectionId: string | null;
  /** Device flow (RFC 8628): the device code (vault envelope) and what the person is shown. */
  deviceCodeEnc: string | null;
  userCode: string | null;
  verificationUri: string | null;
  verificationUriComplete: string | null;
  pollIntervalS: number | null;
  nextPollAt: number | null;
  /** SHA-256 of the secret in the connect URL. */
  tokenHash: string;
  createdByMemberId: string | null;
  name: string | null;
  externalId: string | null;
  metadata: Record<string, unknown> | null;
  status: ConnectSessionStatus;
  connectionId: string | null;
  error: string | null;
  expiresAt: number;
  createdAt: number;
}

export interface ConnectAttemptRecord {
  id: string;
  orgId: string;
  sessionId: string;
  integrationId: string;
  /** SHA-256 of `state`; state itself only travels through the browser. */
  stateHash: string;
  /** SHA-256 of the browser-binding cookie value. */
  browserHash: string;
  verifierEnc: string;
  nonce: string | null;
  issuer: string | null;
  redirectUri: string;
  expiresAt: number;
  usedAt: number | null;
  createdAt: number;
}

export interface AuditRecord {
  seq: number;
  id: string;
  orgId: string;
  at: number;
  actorType: 'member' | 'api_key' | 'system' | 'browser';
  actorId: string | null;
  action: string;
  outcome: 'ok' | 'error';
  integrationId: string | null;
  connectionId: string | null;
  detail: Record<string, unknown>;
}

export type NewAuditRecord = Omit<AuditRecord, 'seq'>;

/** A data key wrapped under a master key (the vault's DataKeyRepository shape, kept here so store imports no vault). */
export interface DataKeyRecord {
  id: string;
  orgId: string;
  masterKid: string;
  wrapped: string;
  createdAt: string;
}

/** An organization's webhook endpoint: where status-change events are POSTed, signed with its secret. */
export interface WebhookEndpointRecord {
  id: string;
  orgId: string;
  url: string;
  /** The signing secret (vault envelope); shown once at creation. */
  secretEnc: string;
  /** Event types sent here; empty means all. */
  events: string[];
  description: string | null;
  createdAt: number;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event to one endpoint, retried with backoff for a day. The payload never holds a secret. */
export interface WebhookDeliveryRecord {
  id: string;
  orgId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  /** The JSON body exactly as sent (signed bytes). */
  payload: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: number | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

/** How a person signed in: single sign-on, a one-time link from the CLI, or an invite link. */
export type SignInMethod = 'oidc' | 'login_link' | 'invite';

/**
 * A signed-in browser. The cookie holds a random secret; only its SHA-256 (`hash`) is stored. It
 * ends when idle too long (`lastSeenAt`), at `expiresAt` whatever happens, at sign-out, or when the
 * member is removed.
 */
export interface SessionRecord {
  id: string;
  orgId: string;
  memberId: string;
  hash: string;
  method: SignInMethod;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

/** A one-time sign-in link (`keyway login-link`): single-use, short-lived, stored as a hash. */
export interface LoginLinkRecord {
  id: string;
  orgId: string;
  memberId: string;
  tokenHash: string;
  expiresAt: number;
  usedAt: number | null;
  createdAt: number;
}

/** An invitation to join an organization with a role: single-use, expiring, the link stored as a hash. */
export interface InviteRecord {
  id: string;
  orgId: string;
  email: string;
  role: Role;
  tokenHash: string;
  invitedByMemberId: string;
  expiresAt: number;
  acceptedAt: number | null;
  acceptedMemberId: string | null;
  revokedAt: number | null;
  createdAt: number;
}

/**
 * One single-sign-on attempt, between the redirect to the identity provider and its callback.
 * `state` and the browser binding are stored as hashes; the PKCE verifier is derived from the
 * browser's binding secret and never stored. Belongs to no organization unless one was asked for
 * (an invite, or `?org=`).
 */
export interface SignInAttemptRecord {
  id: string;
  orgId: string | null;
  stateHash: string;
  browserHash: string;
  nonce: string;
  inviteId: string | null;
  returnTo: string | null;
  expiresAt: number;
  usedAt: number | null;
  createdAt: number;
}
