import { KeywayError } from '../../core/errors.ts';
import type { ProviderDefinition } from '../schema.ts';
import { atlassian } from './atlassian.ts';
import { github } from './github.ts';
import { google } from './google.ts';
import { microsoft } from './microsoft.ts';
import { notion } from './notion.ts';
import { quickbooks } from './quickbooks.ts';
import { slack } from './slack.ts';
import { zoho } from './zoho.ts';
import { zoom } from './zoom.ts';
import type { ProviderHooks } from './types.ts';

export type { IdTokenIssuerInput, ProviderHooks, TokenRequestIn, TokenRequestOut, TokenResponseIn, TokenResponseOut } from './types.ts';

/** Every quirk module, by the name a provider definition gives in its `quirks` field. */
export const QUIRKS: Record<string, ProviderHooks> = { atlassian, github, google, microsoft, notion, quickbooks, slack, zoho, zoom };

const NONE: ProviderHooks = {};

/** The hooks for a provider: its quirk module, or none when it follows the standard. */
export function hooksFor(def: ProviderDefinition): ProviderHooks {
  if (def.quirks === undefined) return NONE;
  const hooks = Object.hasOwn(QUIRKS, def.quirks) ? QUIRKS[def.quirks] : undefined;
  if (!hooks) {
    throw new KeywayError('catalog_invalid', `provider "${def.id}": field "quirks": no quirk module named "${def.quirks}" (known: ${Object.keys(QUIRKS).join(', ')})`);
  }
  return hooks;
}
