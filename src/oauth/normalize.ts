import type * as oauth from 'oauth4webapi';

/** The hooks the protocol layer applies; the catalog's quirk modules (ProviderHooks) implement them. */
export interface TokenResponseNormalizer {
  normalizeTokenResponse?(res: { status: number; headers: Headers; body: unknown }): { status: number; body: unknown };
  prepareTokenRequest?(req: { headers: Headers; body: URLSearchParams }): { headers: Headers; body: string | URLSearchParams };
  idTokenIssuer?(input: { configuredIssuer: string; claims: Record<string, unknown> }): string;
}

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

function isJson(contentType: string | null): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || type.endsWith('+json');
}

/** A JSON body, or a successful answer that may be one under no or a plain-text content type. */
function mayBeJson(res: Response): boolean {
  const type = res.headers.get('content-type');
  return isJson(type) || (res.ok && (type === null || type.toLowerCase().startsWith('text/plain')));
}

/**
 * Cosmetic deviations from RFC 6749 §5.1 that any provider may send in a successful token
 * response, made strict for oauth4webapi: a missing `token_type` is `bearer` (Keyway sends every
 * token as a bearer token anyway), a `scope` array is joined with spaces, and a `refresh_token`
 * of null or "" means none was issued (the stored one is kept). A body without an
 * `access_token` is left as it is, for oauth4webapi to refuse.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function tolerateTokenResponse(res: { status: number; body: unknown }): { status: number; body: unknown } {
  const body = res.body;
  if (res.status < 200 || res.status > 299 || typeof body !== 'object' || body === null || Array.isArray(body)) return res;
  const b = body as Record<string, unknown>;
  if (typeof b['access_token'] !== 'string' || b['access_token'] === '') return res;
  const fixed: Record<string, unknown> = { ...b };
  if (fixed['token_type'] === undefined || fixed['token_type'] === null || fixed['token_type'] === '') fixed['token_type'] = 'bearer';
  if (Array.isArray(fixed['scope']) && fixed['scope'].every((x) => typeof x === 'string')) fixed['scope'] = fixed['scope'].join(' ');
  if (fixed['refresh_token'] === null || fixed['refresh_token'] === '') delete fixed['refresh_token'];
  return { status: res.status, body: fixed };
}

/**
 * Wraps a fetch so form requests pass through the provider's `prepareTokenRequest` (Notion wants
 * JSON) and JSON responses through its `normalizeTokenResponse`, then `tolerateTokenResponse`,
 * before oauth4webapi parses them. A body that is not valid JSON is handed on unchanged, for
 * oauth4webapi to reject in its usual way.
 */
export function withNormalizer(fetchFn: typeof fetch, hooks: TokenResponseNormalizer): typeof fetch {
  const quirk = hooks.normalizeTokenResponse?.bind(hooks);
  const normalize = (res: { status: number; headers: Headers; body: unknown }): { status: number; body: unknown } =>
    tolerateTokenResponse(quirk ? quirk(res) : res);
  const prepare = hooks.prepareTokenRequest?.bind(hooks);
  const wrapped = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): Promise<Response> => {
    let sent = init;
    if (prepare && init?.body instanceof URLSearchParams) {
      const out = prepare({ headers: new Headers(init.headers), body: init.body });
      sent = { ...init, headers: out.headers, body: out.body };
    }
    const res = await fetchFn(input, sent);
    if (NULL_BODY_STATUS.has(res.status) || !mayBeJson(res)) return res;
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON after all: rebuild the response unchanged; oauth4webapi reports the parse failure.
      return new Response(text, { status: res.status, statusText: res.statusText, headers: copyHeaders(res.headers) });
    }
    const out = normalize({ status: res.status, headers: res.headers, body });
    const headers = copyHeaders(res.headers);
    headers.set('content-type', 'application/json');
    return new Response(JSON.stringify(out.body), { status: out.status, headers });
  };
  return wrapped as typeof fetch;
}

function copyHeaders(from: Headers): Headers {
  const headers = new Headers(from);
  headers.delete('content-length');
  headers.delete('content-encoding');
  return headers;
}

/** The claims of a JWT, read without any validation (the caller only decides what to expect). */
function unverifiedClaims(jwt: string): Record<string, unknown> | null {
  const payload = jwt.split('.')[1];
  if (payload === undefined) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? claims as Record<string, unknown> : null;
  } catch {
    return null; // not a JWT: oauth4webapi rejects it with its own error
  }
}

/**
 * Reads a token response's ID token ahead of oauth4webapi (from a clone; the response is left
 * unread), when a hook or the caller needs to know. Returns whether one is there (when
 * `needPresence`) and the metadata to validate it with: the configured
 * issuer, or the one the provider's `idTokenIssuer` hook expects for these claims (Microsoft's
 * `…/{tid}/v2.0`). The `iss` comparison itself stays oauth4webapi's.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 */
export async function idTokenExpectations(as: oauth.AuthorizationServer, hooks: TokenResponseNormalizer, res: Response, opts: { needPresence: boolean }): Promise<{ as: oauth.AuthorizationServer; hasIdToken: boolean }> {
  if (!hooks.idTokenIssuer && !opts.needPresence) return { as, hasIdToken: false }; // nothing to decide: the body is not read twice
  if (!res.ok || !isJson(res.headers.get('content-type'))) return { as, hasIdToken: false };
  let body: unknown;
  try {
    body = await res.clone().json();
  } catch {
    return { as, hasIdToken: false }; // oauth4webapi reports the broken body
  }
  const idToken = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['id_token'] : undefined;
  if (typeof idToken !== 'string') return { as, hasIdToken: false };
  const claims = hooks.idTokenIssuer ? unverifiedClaims(idToken) : null;
  if (!claims || !hooks.idTokenIssuer) return { as, hasIdToken: true };
  return { as: { ...as, issuer: hooks.idTokenIssuer({ configuredIssuer: as.issuer, claims }) }, hasIdToken: true };
}
