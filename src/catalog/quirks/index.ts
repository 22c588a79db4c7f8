import { KeywayError } from '../../core/errors.ts';
import type { ProviderDefinition } from '../schema.ts';
import { github } from './github.ts';
import { slack } from './slack.ts';
import type { ProviderHooks } from './types.ts';

export type { ProviderHooks, TokenResponseIn, TokenResponseOut } from './types.ts';

/** Every quirk module, by the name a provider definition gives in its `quirks` field. */
export const QUIRKS: Record<string, ProviderHooks> = { github, slack };

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
