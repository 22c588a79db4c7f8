/**
 * Schema migrations, in order. Written once for both dialects: `BIGINT` has integer affinity in
 * SQLite, and `{serial}` is the one spelling that differs. Every row carries its organization id from
 * the first migration on, although the embedded default has one organization.
 */
export interface Migration {
  id: number;
  name: string;
  sql: (dialect: 'sqlite' | 'postgres') => string;
}

const serial = (d: 'sqlite' | 'postgres'): string =>
  d === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY';

export const MIGRATIONS: Migration[] = [
  {
    id: 1,
    name: 'initial schema',
    sql: (d) => `
CREATE TABLE orgs (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE members (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), email TEXT NOT NULL, name TEXT NOT NULL,
  role TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX members_org ON members(org_id);
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), member_id TEXT NOT NULL REFERENCES members(id),
  name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, scope TEXT NOT NULL,
  created_at BIGINT NOT NULL, last_used_at BIGINT, revoked_at BIGINT);
CREATE INDEX api_keys_org ON api_keys(org_id);
CREATE TABLE data_keys (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), master_kid TEXT NOT NULL, wrapped TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE UNIQUE INDEX data_keys_org_created ON data_keys(org_id, created_at);
CREATE TABLE integrations (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), provider TEXT NOT NULL, name TEXT NOT NULL,
  client_id TEXT NOT NULL, client_secret_enc TEXT, scopes TEXT NOT NULL, config TEXT NOT NULL,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE INDEX integrations_org ON integrations(org_id);
CREATE TABLE connections (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), integration_id TEXT NOT NULL REFERENCES integrations(id),
  owner_member_id TEXT, name TEXT NOT NULL, external_id TEXT, metadata TEXT,
  status TEXT NOT NULL, status_reason TEXT, status_since BIGINT NOT NULL,
  requested_scopes TEXT NOT NULL, granted_scopes TEXT NOT NULL,
  access_token_enc TEXT, refresh_token_enc TEXT, token_type TEXT,
  expires_at BIGINT, obtained_at BIGINT, last_refreshed_at BIGINT,
  refresh_failures INTEGER NOT NULL DEFAULT 0, token_version INTEGER NOT NULL DEFAULT 0,
  account_issuer TEXT, account_subject TEXT,
  lease_owner TEXT, lease_until BIGINT, lease_fence BIGINT NOT NULL DEFAULT 0, refresh_inflight_at BIGINT,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE INDEX connections_org_created ON connections(org_id, created_at, id);
CREATE INDEX connections_external ON connections(org_id, external_id);
CREATE INDEX connections_integration ON connections(integration_id);
CREATE TABLE connect_sessions (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), integration_id TEXT NOT NULL REFERENCES integrations(id),
  token_hash TEXT NOT NULL UNIQUE, created_by_member_id TEXT, name TEXT, external_id TEXT, metadata TEXT,
  status TEXT NOT NULL, connection_id TEXT, error TEXT, expires_at BIGINT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE connect_attempts (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), session_id TEXT NOT NULL REFERENCES connect_sessions(id),
  integration_id TEXT NOT NULL, state_hash TEXT NOT NULL UNIQUE, browser_hash TEXT NOT NULL, verifier_enc TEXT NOT NULL,
  nonce TEXT, issuer TEXT, redirect_uri TEXT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT, created_at BIGINT NOT NULL);
CREATE TABLE audit_log (
  seq ${serial(d)}, id TEXT NOT NULL UNIQUE, org_id TEXT NOT NULL, at BIGINT NOT NULL,
  actor_type TEXT NOT NULL, actor_id TEXT, action TEXT NOT NULL, outcome TEXT NOT NULL,
  integration_id TEXT, connection_id TEXT, detail TEXT NOT NULL);
CREATE INDEX audit_org_seq ON audit_log(org_id, seq);
`,
  },
  {
    id: 2,
    name: 'every grant, connection values, device sessions, re-auth, key limits',
    sql: () => `
ALTER TABLE connections ADD COLUMN kind TEXT NOT NULL DEFAULT 'oauth2';
ALTER TABLE connections ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
ALTER TABLE connections ADD COLUMN provider_values TEXT NOT NULL DEFAULT '{}';
ALTER TABLE connections ADD COLUMN refresh_expires_at BIGINT;
ALTER TABLE connections ADD COLUMN account_label TEXT;
ALTER TABLE connect_sessions ADD COLUMN grant_type TEXT NOT NULL DEFAULT 'authorization_code';
ALTER TABLE connect_sessions ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
ALTER TABLE connect_sessions ADD COLUMN scopes TEXT;
ALTER TABLE connect_sessions ADD COLUMN reauth_connection_id TEXT;
ALTER TABLE connect_sessions ADD COLUMN device_code_enc TEXT;
ALTER TABLE connect_sessions ADD COLUMN user_code TEXT;
ALTER TABLE connect_sessions ADD COLUMN verification_uri TEXT;
ALTER TABLE connect_sessions ADD COLUMN verification_uri_complete TEXT;
ALTER TABLE connect_sessions ADD COLUMN poll_interval_s INTEGER;
ALTER TABLE connect_sessions ADD COLUMN next_poll_at BIGINT;
CREATE INDEX connect_sessions_device_poll ON connect_sessions(grant_type, status, next_poll_at);
ALTER TABLE integrations ADD COLUMN private_key_enc TEXT;
ALTER TABLE api_keys ADD COLUMN rate_limit_per_minute INTEGER;
CREATE INDEX connections_refresh_due ON connections(expires_at)
`,
  },
  {
    id: 3,
    name: 'webhooks: endpoints and a delivery log',
    sql: () => `
CREATE TABLE webhook_endpoints (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), url TEXT NOT NULL, secret_enc TEXT NOT NULL,
  events TEXT NOT NULL, description TEXT, created_at BIGINT NOT NULL);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints(org_id);
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, endpoint_id TEXT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL,
  payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at BIGINT,
  last_status_code INTEGER, last_error TEXT, lease_owner TEXT, lease_until BIGINT,
  created_at BIGINT NOT NULL, delivered_at BIGINT);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(org_id, endpoint_id, created_at, id)
`,
  },
  {
    id: 4,
    name: 'teams: removed members, sign-in identities, sharing, sessions, login links, invites',
    sql: () => `
ALTER TABLE members ADD COLUMN removed_at BIGINT;
ALTER TABLE members ADD COLUMN oidc_issuer TEXT;
ALTER TABLE members ADD COLUMN oidc_subject TEXT;
CREATE INDEX members_identity ON members(oidc_issuer, oidc_subject);
CREATE INDEX members_email ON members(email);
ALTER TABLE connections ADD COLUMN sharing TEXT NOT NULL DEFAULT 'personal';
ALTER TABLE connections ADD COLUMN share_level TEXT;
CREATE INDEX connections_owner ON connections(org_id, owner_member_id);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), member_id TEXT NOT NULL REFERENCES members(id),
  hash TEXT NOT NULL UNIQUE, method TEXT NOT NULL, created_at BIGINT NOT NULL, last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL);
CREATE INDEX sessions_member ON sessions(org_id, member_id);
CREATE INDEX sessions_expires ON sessions(expires_at);
CREATE TABLE login_links (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), member_id TEXT NOT NULL REFERENCES members(id),
  token_hash TEXT NOT NULL UNIQUE, expires_at BIGINT NOT NULL, used_at BIGINT, created_at BIGINT NOT NULL);
CREATE TABLE invites (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), email TEXT NOT NULL, role TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE, invited_by_member_id TEXT NOT NULL, expires_at BIGINT NOT NULL,
  accepted_at BIGINT, accepted_member_id TEXT, revoked_at BIGINT, created_at BIGINT NOT NULL);
CREATE INDEX invites_org ON invites(org_id, created_at);
CREATE TABLE sign_in_attempts (
  id TEXT PRIMARY KEY, org_id TEXT, state_hash TEXT NOT NULL UNIQUE, browser_hash TEXT NOT NULL, nonce TEXT NOT NULL,
  invite_id TEXT, return_to TEXT, expires_at BIGINT NOT NULL, used_at BIGINT, created_at BIGINT NOT NULL);
CREATE INDEX sign_in_attempts_expires ON sign_in_attempts(expires_at)
`,
  },
  {
    // Audit ids are random and never looked up: a unique index on them cost one random B-tree page
    // written per entry (most of the gateway's per-call store work). The table is rebuilt without
    // it on SQLite, which cannot drop a column constraint; PostgreSQL drops the constraint.
    id: 5,
    name: 'audit entries without a unique index on their random id',
    sql: (d) => d === 'postgres'
      ? 'ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_id_key'
      : `
CREATE TABLE audit_log_v5 (
  seq ${serial(d)}, id TEXT NOT NULL, org_id TEXT NOT NULL, at BIGINT NOT NULL,
  actor_type TEXT NOT NULL, actor_id TEXT, action TEXT NOT NULL, outcome TEXT NOT NULL,
  integration_id TEXT, connection_id TEXT, detail TEXT NOT NULL);
INSERT INTO audit_log_v5 (seq, id, org_id, at, actor_type, actor_id, action, outcome, integration_id, connection_id, detail)
  SELECT seq, id, org_id, at, actor_type, actor_id, action, outcome, integration_id, connection_id, detail FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
ALTER TABLE audit_log_v5 RENAME TO audit_log;
CREATE INDEX audit_org_seq ON audit_log(org_id, seq)
`,
  },
  {
    // The background scheduler's queries read only what is due: partial indexes over live
    // connections, one per question (access token expiring, refresh token idle, refresh token
    // expired), instead of one index on expires_at that an OR beside it made the planner scan past.
    id: 6,
    name: 'indexes for what is due, so a pass costs the same with a million connections',
    sql: () => `
CREATE INDEX connections_due_expiry ON connections(expires_at) WHERE status <> 'needs_reauth';
CREATE INDEX connections_due_idle ON connections(obtained_at) WHERE status <> 'needs_reauth' AND refresh_token_enc IS NOT NULL;
CREATE INDEX connections_due_reauth ON connections(refresh_expires_at) WHERE status <> 'needs_reauth' AND refresh_token_enc IS NOT NULL;
DROP INDEX connections_refresh_due
`,
  },
  {
    id: 7,
    name: 'API keys that expire',
    sql: () => 'ALTER TABLE api_keys ADD COLUMN expires_at BIGINT',
  },
  {
    id: 8,
    name: 'API keys rolled into a new one',
    sql: () => 'ALTER TABLE api_keys ADD COLUMN replaced_by TEXT',
  },
];
