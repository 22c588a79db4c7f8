/**
 * What Keyway's API answers and accepts, as the SDK types it (DESIGN.md: camelCase, ISO-8601 UTC
 * strings, ids as prefixed strings, lists as `{data, nextCursor}`). test/sdk-types.test.ts holds these
 * to the server's own `present…` functions, so a field changed there fails the type check here.
 */

/** One page of a list; `nextCursor` is null on the last. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** `?limit=&cursor=` of every list (limit 1–200, default 50). */
export interface PageParams {
  limit?: number;
  cursor?: string;
}

export type ConnectionStatus = 'active' | 'refresh_failing' | 'needs_reauth';
export type ConnectionType = 'oauth2' | 'client_credentials' | 'api_key' | 'basic';

export interface Integration {
  id: string;
  provider: string;
  name: string;
  clientId: string;
  hasClientSecret: boolean;
  hasPrivateKey: boolean;
  scopes: string[];
  /** Register this at the provider: `{publicUrl}/oauth/callback/{id}`. */
  redirectUri: string;
  endpoints: {
    issuer: string | null;
    authorizationUrl: string | null;
    tokenUrl: string | null;
    revocationUrl: string | null;
    apiBaseUrls: string[];
    parUrl: string | null;
  };
  pushedAuthorization: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A provider of the catalog (`/v1/providers`): what an integration is made from. */
export interface Provider {
  id: string;
  name: string;
  logo: string | null;
  categories: string[];
  docs: string | null;
  credential: 'oauth2' | 'api_key' | 'basic';
  grants: Array<'authorization_code' | 'client_credentials' | 'device_code'>;
  scopes: { default: string[]; available: string[]; separator: string };
  pkce: boolean;
  pkceDisabledReason: string | null;
  refresh: 'reusable' | 'rotating' | 'none';
  apiBaseUrls: string[];
  /** How to register your OAuth app at the provider. */
  setup: string | null;
  /** Values a connection needs (a Shopify shop, a Zendesk subdomain), asked for when connecting. */
  connectionParams: Array<{ name: string; label: string; pattern: string; example: string | null; default: string | null; help: string | null }>;
  quirks: string | null;
  notes: string[];
  authParams: Record<string, string>;
  clientAuth: 'client_secret_basic' | 'client_secret_post' | 'none';
  refreshTokenLifetimeDays: number | null;
  apiInject: { in: 'header' | 'query'; name: string; prefix: string };
}

/**
 * `POST /v1/integrations`: a catalog provider (`provider: 'google'`, …) with your OAuth app's client,
 * or `provider: 'custom'` by URLs (`authorizationUrl`, `tokenUrl`) or by `issuer` (discovery).
 */
export interface NewIntegration {
  provider: string;
  name?: string;
  clientId?: string;
  clientSecret?: string;
  /** For `private_key_jwt` client authentication (PEM), with its key id. */
  privateKey?: string;
  privateKeyId?: string;
  scopes?: string[];
  authorizationUrl?: string;
  tokenUrl?: string;
  revocationUrl?: string;
  apiBaseUrl?: string;
  issuer?: string;
  /** Push authorization requests first (RFC 9126, PAR); unset: only when the provider's metadata requires it. */
  pushedAuthorization?: boolean;
}

/** `PATCH /v1/integrations/{id}`: rename, change scopes, or rotate the client (used at once). */
export interface IntegrationChange {
  name?: string;
  scopes?: string[];
  clientId?: string;
  clientSecret?: string;
}

/** A connection as the caller sees it: never a token. */
export interface Connection {
  id: string;
  name: string;
  integration: string;
  type: ConnectionType;
  externalId: string | null;
  metadata: Record<string, unknown> | null;
  params: Record<string, string>;
  providerValues: Record<string, string>;
  account: { issuer: string | null; subject: string; label: string | null } | null;
  status: ConnectionStatus;
  /** What happened and what to do, when not active. */
  statusReason: string | null;
  statusSince: string;
  requestedScopes: string[];
  grantedScopes: string[];
  missingScopes: string[];
  newIntegrationScopes: string[];
  scopeNote: string | null;
  hasRefreshToken: boolean;
  accessTokenExpiresAt: string | null;
  refreshTokenExpiresAt: string | null;
  createdAt: string;
  lastRefreshedAt: string | null;
  sharing: 'personal' | 'shared';
  shareLevel: 'use' | 'manage' | null;
  owner: { id: string; name: string; email: string; formerMember: boolean } | null;
  authorizedByFormerMember: boolean;
  ownerNote: string | null;
  /** What the caller may do with it, and why. */
  access: { via: 'owner' | 'admin' | 'shared:use' | 'shared:manage'; canReadToken: boolean; canManage: boolean; canChangeSharing: boolean };
}

export interface ConnectionFilter extends PageParams {
  integration?: string;
  status?: ConnectionStatus;
  externalId?: string;
}

/** `PATCH /v1/connections/{id}`: a new name, or sharing (with `level` when shared). */
export interface ConnectionChange {
  name?: string;
  sharing?: 'personal' | 'shared';
  level?: 'use' | 'manage';
}

/** Fields every connection created without a browser may carry. */
interface NewConnectionCommon {
  integration: string;
  name?: string;
  externalId?: string;
  metadata?: Record<string, unknown>;
  params?: Record<string, string>;
}

/** `POST /v1/connections`: client credentials, an API key, Basic, or OAuth tokens issued elsewhere (an import). */
export type NewConnection = NewConnectionCommon & (
  | { type: 'client_credentials'; scopes?: string[] }
  | { type: 'api_key'; apiKey: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'oauth2'; refreshToken: string; accessToken?: string; expiresAt?: string; scopes?: string[] }
);

/** What `/token` hands out: the owner only, with a key that may read tokens. */
export interface AccessToken {
  accessToken: string;
  tokenType: string;
  expiresAt: string | null;
  scopes: string[];
}

export type ConnectGrant = 'authorization_code' | 'device_code';

export interface NewConnectSession {
  integration: string;
  /** `authorization_code` (default: a link to open in a browser) or `device_code` (a code to enter at the provider). */
  grant?: ConnectGrant;
  scopes?: string[];
  name?: string;
  externalId?: string;
  metadata?: Record<string, unknown>;
  params?: Record<string, string>;
}

/** Where the device flow tells the person to go (RFC 8628 §3.2). */
interface DeviceFields {
  userCode?: string | null;
  verificationUri?: string | null;
  verificationUriComplete?: string;
  interval?: number | null;
}

/** A session just started: the link to open (browser), or the code and where to enter it (device). */
export interface StartedConnectSession extends DeviceFields {
  id: string;
  connectUrl?: string;
  reauthorizes?: string;
  expiresAt: string;
}

export type ConnectSessionStatus = 'pending' | 'connected' | 'denied' | 'expired' | 'failed';

export interface ConnectSession extends DeviceFields {
  id: string;
  integration: string;
  grant: ConnectGrant;
  status: ConnectSessionStatus;
  /** The connection made (or re-authenticated) once `connected`. */
  connection: string | null;
  error: string | null;
  params: Record<string, string>;
  reauthorizes: string | null;
  name: string | null;
  externalId: string | null;
  expiresAt: string;
  createdAt: string;
}

export interface ApiKeyScope {
  /** Empty: every integration. */
  integrations: string[];
  /** Empty: every connection the member may use. */
  connections: string[];
  /** May read raw tokens (`/token`), not only call through the gateway. */
  tokenRead: boolean;
  /** May manage: connect, disconnect, keys, integrations (as far as the member's role allows). */
  manage: boolean;
}

export interface ApiKey {
  id: string;
  name: string;
  /** The key's first characters, to recognise it. */
  prefix: string;
  member: string;
  scope: ApiKeyScope;
  rateLimitPerMinute: number | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  expiresAt: string | null;
  /** The key this one was rolled into; it then stops at `expiresAt` (or was revoked at once). */
  replacedBy: string | null;
}

/** A key just made: `key` is in this answer only, never shown again. */
export interface CreatedApiKey extends ApiKey {
  key: string;
}

/** A key rolled: the new key (in this answer only) and when the one it replaces stops working. */
export interface RolledApiKey extends CreatedApiKey {
  previous: { id: string; endsAt: string };
}

export interface NewApiKey {
  name: string;
  /** Omitted parts: all integrations, all connections, no token reading, no managing. */
  scope?: Partial<ApiKeyScope>;
  /** Requests per minute; 0: no limit; omitted: the server's default. */
  rateLimitPerMinute?: number;
  /** When it stops working (ISO 8601), or `expiresInDays` from now; at most one. */
  expiresAt?: string;
  expiresInDays?: number;
}

export interface AuditEntry {
  id: string;
  at: string;
  /** Who acted: a member (signed in), an API key, Keyway itself, or a browser (a connect link). */
  actor: { type: 'member' | 'api_key' | 'system' | 'browser'; id: string | null };
  action: string;
  outcome: 'ok' | 'error';
  integration: string | null;
  connection: string | null;
  detail: Record<string, unknown>;
}

export interface AuditFilter extends PageParams {
  integration?: string;
  connection?: string;
  action?: string;
  actor?: string;
  /** ISO 8601. */
  since?: string;
  until?: string;
}

export type Role = 'owner' | 'admin' | 'member';

export interface Member {
  id: string;
  email: string;
  name: string;
  role: Role;
  /** Signs in through the organization's OpenID Connect provider. */
  singleSignOn: boolean;
  createdAt: string;
  /** Set once they were removed or left; their name stays on what they did. */
  removedAt: string | null;
}

/** Who is calling (`GET /v1/me`). */
export interface Me {
  member: Member;
  org: { id: string; name: string };
  role: Role;
  via: 'session' | 'api_key';
  apiKey: string | null;
  /** Only for a signed-in browser session. */
  session: { id: string; method: string; expiresAt: string; idleExpiresAt: string; csrfToken: string } | null;
}

export interface Invite {
  id: string;
  email: string;
  role: Role;
  invitedBy: string;
  status: 'pending' | 'accepted' | 'revoked' | 'expired';
  expiresAt: string;
  createdAt: string;
}

/** An invite just made: `inviteUrl` is in this answer only; send it to the person. */
export interface CreatedInvite extends Invite {
  inviteUrl: string;
  inviteUrlNote: string;
}

export type WebhookEvent =
  | 'connection.created' | 'connection.reauthorized' | 'connection.refresh_failing'
  | 'connection.recovered' | 'connection.needs_reauth' | 'connection.deleted';

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  createdAt: string;
}

/** An endpoint just registered: `secret` (to verify each delivery's signature) is in this answer only. */
export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  secret: string;
  secretNote: string;
}

export interface NewWebhookEndpoint {
  /** https (or, in development mode, http on loopback). */
  url: string;
  /** Omitted or empty: every event. */
  events?: WebhookEvent[];
  description?: string;
}

export interface WebhookDelivery {
  id: string;
  event: string;
  type: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
  /** What was (or will be) POSTed. */
  payload: unknown;
}
