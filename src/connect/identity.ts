import { KeywayError } from '../core/errors.ts';
import { type ProviderDefinition, keptValues, pickPath, userinfoRequest } from '../catalog/index.ts';
import type { OAuthContext, TokenSet } from '../oauth/index.ts';
import type { ConnectionRecord } from '../store/index.ts';

/** Who the account at the provider is: compared on re-authentication so a connection never changes hands. */
export interface AccountIdentity {
  issuer: string;
  subject: string;
  label: string | null;
}

/**
 * The identity a token response carries: the OIDC ID token's `iss` + `sub` (OIDC Core §2), or the
 * fields the definition names in the token response (Slack's `authed_user.id` under `team.id`).
 * Null when the definition identifies accounts by another call (userinfo) or not at all.
 */
export function identityFromTokens(def: ProviderDefinition, tokens: TokenSet): AccountIdentity | null {
  const spec = def.identity;
  if (!spec || spec.source === 'id_token') {
    if (!tokens.identity) return null;
    const label = spec?.label ? pickPath(tokens.extra, spec.label) : null;
    return { issuer: tokens.identity.issuer, subject: tokens.identity.subject, label };
  }
  if (spec.source === 'token_response' && spec.subject) {
    const subject = pickPath(tokens.extra, spec.subject);
    if (subject === null) return null;
    return { issuer: def.id, subject, label: spec.label ? pickPath(tokens.extra, spec.label) : null };
  }
  return null;
}

/**
 * The account behind new tokens, wherever the definition says to find it. For `identity.source:
 * userinfo` that is a GET to `identity.url` (its `{placeholders}` filled from the connection's
 * values and the values kept from this token response) with the new access token put where the
 * definition's `api.inject` says, through the integration's outbound fetch (so the outbound URL
 * policy applies). The subject is `identity.subject` (default `id`).
 */
export async function resolveIdentity(ctx: OAuthContext, tokens: TokenSet, params: Record<string, string> = {}): Promise<AccountIdentity | null> {
  const def = ctx.provider.definition;
  const spec = def.identity;
  if (spec?.source !== 'userinfo') return identityFromTokens(def, tokens);
  const req = userinfoRequest(def, { params, kept: keptValues(def, tokens.extra) }, tokens.accessToken);
  if (!req) throw new KeywayError('catalog_invalid', `Provider "${def.id}": identity.url is required when identity.source is userinfo.`);
  const body = await getJson(ctx, req.url, req.headers, def.name);
  const obj = typeof body === 'object' && body !== null && !Array.isArray(body) ? body as Record<string, unknown> : {};
  const subject = pickPath(obj, spec.subject ?? 'id');
  if (subject === null) throw new KeywayError('provider_error', `${def.name}'s account answer has no "${spec.subject ?? 'id'}".`);
  return { issuer: def.id, subject, label: spec.label ? pickPath(obj, spec.label) : null };
}

async function getJson(ctx: OAuthContext, url: URL, headers: Headers, provider: string): Promise<unknown> {
  try {
    const res = await (ctx.apiFetch ?? ctx.fetch)(url, { headers, signal: AbortSignal.timeout(ctx.timeoutMs) });
    if (!res.ok) {
      await res.body?.cancel();
      throw new KeywayError('provider_error', `${provider} did not say which account signed in (${url.pathname} answered ${res.status}).`);
    }
    return await res.json();
  } catch (e) {
    if (e instanceof KeywayError) throw e;
    throw new KeywayError('provider_unavailable', `${provider} could not be asked which account signed in; try again shortly.`, { cause: e });
  }
}

/** How a re-authentication's account compares with the connection's (the pure half of the check). */
export type AccountMatch = 'same' | 'other' | 'unverifiable' | 'first';

export function compareAccount(conn: Pick<ConnectionRecord, 'accountIssuer' | 'accountSubject'>, fresh: AccountIdentity | null): AccountMatch {
  if (conn.accountSubject === null) return 'first';
  if (fresh === null) return 'unverifiable';
  return fresh.issuer === conn.accountIssuer && fresh.subject === conn.accountSubject ? 'same' : 'other';
}

/** How to name an account for people: its label (email, login), else its id at the provider. */
export function describeAccount(label: string | null, subject: string | null): string {
  if (label && subject && label !== subject) return `${label} (${subject})`;
  return label ?? subject ?? 'an account Keyway could not identify';
}
