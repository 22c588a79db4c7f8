/**
 * The `keyway` command's help: a section per command, printed all together by `keyway --help` and
 * one at a time by `keyway COMMAND --help`.
 */

/** Where `login-link` and `org create` take the address their links start with. */
const LINK_ADDRESS = `      The link starts with --url, else KEYWAY_PUBLIC_URL, else http://KEYWAY_HOST:KEYWAY_PORT
      (default http://127.0.0.1:3030): pass --url when the server was started with --port or --host.
`;

export const COMMAND_HELP: Readonly<Record<string, string>> = {
  serve: `  keyway serve [--port N] [--host H] [--data-dir DIR] [--dev]
      Start the server. Flags override KEYWAY_PORT, KEYWAY_HOST, KEYWAY_DATA_DIR, KEYWAY_DEV.
      KEYWAY_PUBLIC_URL (default: the listening address) is what redirect URIs are built from.
      --dev: development mode: http allowed to loopback, sandbox provider mounted at /sandbox.
`,
  keys: `  keyway keys create --name NAME [--expires-in-days N] [--data-dir DIR]
      Create an API key for the admin member and print it once (only its hash is stored);
      --expires-in-days: refused from then on, as if revoked.
  keyway keys list [--data-dir DIR]
      List the API keys: id, name, first characters, created, last used, expires, revoked.
  keyway keys revoke ID [--data-dir DIR]
      Revoke an API key. Running servers on the same data refuse it within a second.
  keyway keys roll ID [--grace-minutes N] [--data-dir DIR]
      Replace a key with a new one (same name, scope, rate limit, lifetime), printed once; the old
      one stops at once, or after N minutes (up to 10080) so apps can move to the new one first.
`,
  connect: `  keyway connect INTEGRATION [--device] [--name NAME] [--external-id ID] [--url URL] [--data-dir DIR]
      Connect an account through a running Keyway and wait until it is done. INTEGRATION is an
      integration id (int_…), or a provider id or integration name when only one matches.
      --device: the device flow (RFC 8628): prints a code and a URL to enter it at, like a CLI login.
      Without it: prints a connect link to open in a browser.
      The API key is KEYWAY_API_KEY, else DATA_DIR/bootstrap-admin-key; the server is --url, else
      KEYWAY_URL, else KEYWAY_PUBLIC_URL (default http://127.0.0.1:3030).
`,
  import: `  keyway import FILE.jsonl [--url URL] [--data-dir DIR]
      Import tokens issued elsewhere through a running Keyway: one JSON object per line,
      {"integration", "refreshToken", "accessToken"?, "expiresAt"?, "scopes"?, "externalId"?, "name"?, "metadata"?}.
      Each line becomes a connection (type "oauth2"); the first refresh proves its tokens. Lines that
      fail are reported by number with the reason; the others are imported. Exit code 1 if any failed.
      The API key is KEYWAY_API_KEY, else DATA_DIR/bootstrap-admin-key; the server is --url, else
      KEYWAY_URL, else KEYWAY_PUBLIC_URL (default http://127.0.0.1:3030).
`,
  org: `  keyway org create NAME --owner-email E [--owner-name N] [--url URL] [--data-dir DIR]
      Create an organization with its first owner and print its id and a one-time sign-in link
      for that owner (15 minutes; or they sign in with single sign-on by the same verified email).
${LINK_ADDRESS}`,
  'login-link': `  keyway login-link [--email E] [--org ORG] [--url URL] [--data-dir DIR]
      Print a one-time sign-in link (works once, for 15 minutes) for the member with that email
      (default: the first organization's first owner). --org picks the organization when the
      email is a member of several. No password is ever set; only the link's hash is stored.
${LINK_ADDRESS}`,
  migrate: `  keyway migrate [--data-dir DIR]
      Apply pending database migrations (SQLite in DATA_DIR, or KEYWAY_DATABASE_URL) and exit.
`,
  'master-key': `  keyway master-key status|rewrap [--data-dir DIR]
      Master-key rotation: which master key wraps each data key; rewrap moves them all under the
      active KEYWAY_MASTER_KEY (the old one in KEYWAY_PREVIOUS_MASTER_KEYS meanwhile).
  keyway master-key generate
      Print a new random master key (base64) for KEYWAY_MASTER_KEY.
`,
  doctor: `  keyway doctor [--data-dir DIR]
      Check the database and schema, the master key, clock skew and each provider's token endpoint.
      Read-only; exit code 1 if a check fails.
`,
  docs: `  keyway docs providers
      Print docs/providers.md, generated from the provider catalog.
`,
};

const ENVIRONMENT = `Environment:
  KEYWAY_DATA_DIR            data folder (default ./.keyway): SQLite file, master.key, bootstrap key
  KEYWAY_PORT                port to listen on (default 3030)
  KEYWAY_HOST                address to listen on (default 127.0.0.1)
  KEYWAY_DEV                 development mode, as --dev (default off; npm start passes --dev)
  KEYWAY_PUBLIC_URL          the URL people and providers reach Keyway at (default http://KEYWAY_HOST:KEYWAY_PORT):
                             redirect URIs, connect links and the links login-link and org create print
  KEYWAY_MASTER_KEY          base64 32-byte master key (else generated into DATA_DIR/master.key)
  KEYWAY_PREVIOUS_MASTER_KEYS older master keys, comma-separated, still accepted (rotation)
  KEYWAY_ALLOW_PRIVATE_HOSTS hosts allowed to resolve to private addresses (in-house Keycloak…)
  KEYWAY_REFRESH_AHEAD_SECONDS refresh tokens this long before expiry (default 300)
  KEYWAY_LOG_LEVEL           fatal, error, warn, info, debug, trace or silent (default info)
  KEYWAY_SANDBOX             mount the sandbox authorization server at /sandbox (default: on in --dev)
  KEYWAY_DATABASE_URL        postgres://… to share one PostgreSQL between Keyway processes (needs KEYWAY_MASTER_KEY)
  KEYWAY_BACKGROUND_REFRESH  refresh connections before they expire and touch idle ones (default 1)
  KEYWAY_REFRESH_CONCURRENCY background refreshes at once per process (default 8)
  KEYWAY_REFRESH_PROVIDER_RATE background refreshes per second to one provider, per process (default 50)
  KEYWAY_AUDIT_RETENTION_DAYS audit entries older than this are pruned (default 365)
  KEYWAY_AUDIT_THREAD        audit entries stored by their own thread, off the one answering requests (default on; 0: off)
  KEYWAY_AUDIT_GROUP_MS      token reads of one connection by one key, and the same proxied call with the same status, within this many ms share one audit entry with their count, times and durations (default 1000; 0: one each)
  KEYWAY_PROVIDER_TIMEOUT_MS each call to a provider's token, revocation or device endpoint: its timeout (default 15000)
  KEYWAY_GATEWAY_TIMEOUT_MS  a gateway call: how long the provider may take to start answering, or stall mid-answer (default 120000)
  KEYWAY_REFRESH_LEASE_MS    refresh lock lease; a crashed holder is taken over after it (default max(30000, 2 × provider timeout))
  KEYWAY_OIDC_ISSUER         single sign-on for people: the OpenID Connect provider's issuer
  KEYWAY_OIDC_CLIENT_ID      … its client id (redirect URI: {KEYWAY_PUBLIC_URL}/auth/callback)
  KEYWAY_OIDC_CLIENT_SECRET  … its client secret (omit for a public client)
  KEYWAY_OIDC_PAR            … push sign-in requests first (RFC 9126): 1 always, 0 never (default: when it requires it)
  KEYWAY_RATE_LIMIT_PER_MINUTE requests per minute per API key unless the key sets its own (default 6000; 0: none)
  KEYWAY_API_KEY             connect, import: the API key to call the server with (default: DATA_DIR/bootstrap-admin-key)
  KEYWAY_URL                 connect, import: the server's address (default KEYWAY_PUBLIC_URL)
`;

export const HELP = `keyway — self-hosted OAuth connection broker

Usage:
${Object.values(COMMAND_HELP).join('')}  keyway --help, keyway COMMAND --help
      This text, or one command's part of it.

${ENVIRONMENT}`;

/** `keyway COMMAND --help`: that command's section; null for a command that has none. */
export function commandHelp(cmd: string): string | null {
  const section = Object.hasOwn(COMMAND_HELP, cmd) ? COMMAND_HELP[cmd] : undefined;
  return section === undefined ? null : `Usage:\n${section}\nEvery command and the environment variables: keyway --help\n`;
}
