/**
 * What the browser is told at the end of a connect attempt. The HTTP layer renders it as a page;
 * `problem` names the case so the page can say what happened and what to do next.
 */
export type ConnectProblem =
  | 'unknown_link' | 'link_expired' | 'link_used' | 'link_ended' | 'state_invalid' | 'state_expired' | 'other_browser'
  | 'wrong_integration' | 'issuer_mismatch' | 'issuer_missing' | 'provider_denied' | 'provider_error' | 'code_missing' | 'exchange_failed'
  | 'account_mismatch' | 'account_unverifiable' | 'reauth_target_gone' | 'member_removed' | 'access_lost';

export interface ConnectSuccess {
  ok: true;
  sessionId: string;
  connectionId: string;
  providerName: string;
  /** True when an existing connection got new tokens (re-authentication) rather than a new one being made. */
  reauthorized: boolean;
  /** Scopes asked for but not granted ("a person may approve fewer than asked"). */
  missingScopes: string[];
}

export interface ConnectFailure {
  ok: false;
  sessionId: string | null;
  problem: ConnectProblem;
  /** Safe text: what happened and what to do. */
  message: string;
  /** The provider's own `error` and `error_description`, when it sent them (cleaned, bounded; never a library's code). */
  providerError?: string | undefined;
  providerErrorDescription?: string | undefined;
}

export type ConnectOutcome = ConnectSuccess | ConnectFailure;

export const PROBLEM_TEXT: Record<ConnectProblem, string> = {
  unknown_link: 'This connect link is not valid. Ask for a new link from the app that sent you.',
  link_expired: 'This connect link has expired. Ask for a new link from the app that sent you.',
  link_used: 'This connect link was already used to connect an account; a link works once. Nothing more was stored. You can close this tab; to connect another account, start again from Connect.',
  link_ended: 'This connect link has already ended (access was declined or the sign-in failed), so it no longer works. Nothing was stored. Start again from Connect.',
  state_invalid: 'This sign-in response was already used or is unknown. Start again from Connect; do not use the Back button.',
  state_expired: 'This sign-in took longer than 10 minutes and expired. Start again from Connect.',
  other_browser: 'This sign-in was started in a different browser. Finish it in the browser where you clicked Connect, or start again here.',
  wrong_integration: 'This sign-in response arrived at the wrong integration. Start again from Connect.',
  issuer_mismatch: 'The response came from a different authorization server than the one the sign-in started with. Nothing was stored. Start again from Connect.',
  issuer_missing: 'The authorization server did not say who it is (RFC 9207 "iss" missing), although it promises to. Nothing was stored. Start again from Connect.',
  provider_denied: 'Access was declined at the provider, so nothing was connected. Start again from Connect if that was a mistake.',
  provider_error: 'The provider reported an error, so nothing was connected.',
  code_missing: 'The provider sent you back without an authorization code (and without an error), so nothing was connected. Start again from Connect.',
  exchange_failed: 'The provider did not complete the sign-in (the code could not be exchanged). Nothing was stored. Start again from Connect.',
  account_mismatch: 'You signed in with a different account than the one this connection belongs to. Nothing was changed. Sign in at the provider with the connection\'s account and start again.',
  account_unverifiable: 'Keyway could not tell which account you signed in with, so it cannot confirm it is the one this connection belongs to. Nothing was changed. Start again.',
  member_removed: 'You are no longer a member of this organization in Keyway (or whoever started this link is not), so this link no longer works. Nothing was stored or changed.',
  access_lost: 'You no longer have access to manage this connection in Keyway (it was unshared, or your role changed, since this link was made), so this link no longer works. Nothing was changed. Ask its owner or an admin.',
  reauth_target_gone: 'The connection you were reconnecting no longer exists (it was disconnected). Nothing was stored. Connect again from the app.',
};
