import { z } from 'zod';

/**
 * The provider definition schema. Every built-in provider is one YAML file in ./providers checked
 * against this at start-up; custom providers are built from an integration's fields into the same
 * shape. Implicit and password grants are not in the grant list: OAuth 2.1 drops them.
 */
const url = z.string().min(1);

export const GRANTS = ['authorization_code', 'client_credentials', 'device_code'] as const;
export const CREDENTIAL_KINDS = ['oauth2', 'api_key', 'basic'] as const;

export const injectionSchema = z.strictObject({
  /** Where the credential goes on proxied calls. */
  in: z.enum(['header', 'query']).default('header'),
  name: z.string().default('Authorization'),
  /** Prefix before the credential in a header, e.g. "Bearer ". */
  prefix: z.string().default('Bearer '),
});

/** A connection value a URL template takes, e.g. `{subdomain}` in `https://{subdomain}.zendesk.com`. */
export const connectionParamSchema = z.strictObject({
  label: z.string().min(1),
  /** Regular expression the whole value must match (anchored by Keyway). */
  pattern: z.string().min(1),
  example: z.string().optional(),
  /** Used when the connect session gives none (Microsoft's `common` tenant). Absent: required. */
  default: z.string().optional(),
  help: z.string().optional(),
});

/** A value taken from the token response and kept with the connection (not secret). */
export const keptValueSchema = z.strictObject({
  /**
   * Where the value comes from: the token response (default), or the query of the provider's
   * redirect back to Keyway after consent (QuickBooks' `realmId`, the company the person picked).
   */
  in: z.enum(['token_response', 'callback']).default('token_response'),
  /** Token response: dotted path in its body, e.g. `instance_url` or `team.id`. Callback: the query parameter's name. */
  from: z.string().min(1),
  /**
   * A regular expression the whole value must match; a value that does not is refused with the
   * connection (a value taken from the browser's redirect is checked before it goes into a URL).
   */
  pattern: z.string().min(1).refine((p) => {
    try {
      new RegExp(p);
      return true;
    } catch {
      return false;
    }
  }, 'must be a valid regular expression').optional(),
  /**
   * When set the value is a URL: https only, its host must end with one of these suffixes, and it
   * goes through the outbound policy before any use (Salesforce's instance_url).
   */
  urlHostSuffixes: z.array(z.string().min(1)).optional(),
});

/** How the account behind a connection is identified, to refuse re-authentication as someone else. */
export const identitySchema = z.strictObject({
  /**
   * id_token: OIDC `iss` + `sub`; token_response: fields of the token response; userinfo: a GET to
   * `url` with the new access token (GitHub's /user).
   */
  source: z.enum(['id_token', 'token_response', 'userinfo']),
  url: z.string().optional(),
  /** Dotted path to a stable account id. */
  subject: z.string().optional(),
  /** Dotted path to a name people recognise (email, login). */
  label: z.string().optional(),
});

export const providerSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  name: z.string().min(1),
  /** A logo URL, or null when there is none to show. */
  logo: z.string().nullable().optional(),
  categories: z.array(z.string()).default([]),
  docs: z.string().optional(),
  /** Setup steps at the provider, for docs/providers.md and the dashboard. */
  setup: z.string().optional(),
  credential: z.enum(CREDENTIAL_KINDS).default('oauth2'),
  grants: z.array(z.enum(GRANTS, {
    error: (iss) => iss.input === 'implicit' || iss.input === 'password'
      ? `"${String(iss.input)}" is refused: OAuth 2.1 removed the implicit and resource owner password grants (RFC 9700 §2.1.2, §2.4); use ${GRANTS.join(', ')}`
      : undefined,
  })).default(['authorization_code']),
  /** Discover endpoints from this issuer (RFC 8414, then OIDC discovery) instead of listing them. */
  issuer: url.optional(),
  authorizationUrl: url.optional(),
  tokenUrl: url.optional(),
  revocationUrl: url.optional(),
  deviceAuthorizationUrl: url.optional(),
  parUrl: url.optional(),
  /** The provider sends RFC 9207 `iss` in authorization responses. */
  issParameterSupported: z.boolean().default(false),
  oidc: z.boolean().default(false),
  scopes: z.strictObject({
    default: z.array(z.string()).default([]),
    available: z.array(z.string()).default([]),
    separator: z.string().default(' '),
    /** The authorization request parameter scopes travel in (Slack's user tokens: `user_scope`). */
    param: z.string().regex(/^[a-z_]+$/).default('scope'),
  }).default({ default: [], available: [], separator: ' ', param: 'scope' }),
  authParams: z.record(z.string(), z.string()).default({}),
  tokenParams: z.record(z.string(), z.string()).default({}),
  clientAuth: z.enum(['client_secret_basic', 'client_secret_post', 'none']).default('client_secret_basic'),
  pkce: z.union([
    z.strictObject({ enabled: z.literal(true) }),
    z.strictObject({ enabled: z.literal(false), reason: z.string().min(1) }),
  ]).default({ enabled: true }),
  refresh: z.strictObject({
    /** rotating: each refresh returns a new refresh token and the old one dies (single-use). */
    kind: z.enum(['reusable', 'rotating', 'none']).default('reusable'),
    refreshTokenLifetimeDays: z.number().positive().optional(),
    /**
     * How long an already used refresh token is still accepted (Xero: 30 minutes). A refresh whose
     * response was lost (connection reset, timeout) is then retried with the same token.
     */
    reuseGraceSeconds: z.number().nonnegative().optional(),
    /** What to tell people when a connection comes back without a refresh token although its token expires. */
    missingHint: z.string().optional(),
  }).default({ kind: 'reusable' }),
  api: z.strictObject({
    baseUrls: z.array(url).default([]),
    inject: injectionSchema.default({ in: 'header', name: 'Authorization', prefix: 'Bearer ' }),
    /** Fixed headers every proxied call carries (Notion's `Notion-Version`). */
    headers: z.record(z.string(), z.string()).default({}),
  }).default({ baseUrls: [], inject: { in: 'header', name: 'Authorization', prefix: 'Bearer ' }, headers: {} }),
  /** Connection values the URL templates above take, by name (`{tenant}`, `{subdomain}`, `{shop}`). */
  connectionParams: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), connectionParamSchema).default({}),
  /** Token-response values kept with the connection, by name; also usable as `{name}` in api.baseUrls. */
  keep: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), keptValueSchema).default({}),
  identity: identitySchema.optional(),
  /** Name of a quirk module in ./quirks (a normalizer), when the provider departs from the standard. */
  quirks: z.string().optional(),
  /** Behaviour worth knowing that settings above handle (lifetimes, grace periods), for docs/providers.md. */
  notes: z.array(z.string().min(1)).default([]),
});

export type ProviderDefinition = z.infer<typeof providerSchema>;
export type Grant = (typeof GRANTS)[number];
