import type { ProviderHooks, TokenRequestIn, TokenRequestOut } from './types.ts';

/**
 * Notion public connections.
 *
 * Deviation: Notion's token endpoint takes a JSON body (`{"grant_type":…,"code":…,"redirect_uri":…}`)
 * with HTTP Basic client authentication, not a form; the form oauth4webapi builds is sent as JSON.
 * @see https://developers.notion.com/reference/create-a-token
 * @see https://developers.notion.com/reference/refresh-a-token
 */
export const notion = {
  notes: [
    'Token requests are sent as JSON, as Notion requires.',
    'Older connections hold a token that never expires and no refresh token; newer ones get a refresh token that is replaced on every refresh.',
  ],
  prepareTokenRequest({ headers, body }: TokenRequestIn): TokenRequestOut {
    const out = new Headers(headers);
    out.set('content-type', 'application/json');
    return { headers: out, body: JSON.stringify(Object.fromEntries(body.entries())) };
  },
} satisfies ProviderHooks;
