import { type ProviderDefinition, pickPath } from '../catalog/index.ts';
import type { TokenSet } from '../oauth/index.ts';

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
