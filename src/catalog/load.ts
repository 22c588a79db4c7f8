import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KeywayError } from '../core/errors.ts';
import { hooksFor } from './quirks/index.ts';
import { type ProviderDefinition, providerSchema } from './schema.ts';

export const BUILTIN_PROVIDERS_DIR = new URL('./providers/', import.meta.url).pathname;

/**
 * Validates one definition. A broken one stops start-up with the file, the provider and the field,
 * so the operator knows exactly what to fix.
 */
export function parseDefinition(raw: unknown, source: string): ProviderDefinition {
  const result = providerSchema.safeParse(raw);
  if (result.success) {
    const def = result.data;
    if (def.credential === 'oauth2' && !def.issuer && def.id !== 'custom') {
      const needs = def.grants.includes('authorization_code') ? ['authorizationUrl', 'tokenUrl'] : ['tokenUrl'];
      const missing = needs.filter((k) => !def[k as 'tokenUrl']);
      if (missing.length > 0) {
        throw new KeywayError('catalog_invalid', `${source}: provider "${def.id}": field "${missing[0]}" is required (or give "issuer" to discover it)`);
      }
    }
    try {
      hooksFor(def);
    } catch (e) {
      throw new KeywayError('catalog_invalid', `${source}: ${(e as Error).message}`, { cause: e });
    }
    return def;
  }
  const id = typeof raw === 'object' && raw !== null && 'id' in raw ? String((raw as { id: unknown }).id) : '?';
  const issue = result.error.issues[0];
  const field = issue ? issue.path.join('.') || '(root)' : '(root)';
  throw new KeywayError('catalog_invalid', `${source}: provider "${id}": field "${field}": ${issue?.message ?? 'invalid'}`);
}

/** Reads every `*.yaml` file in a folder. */
export function loadDefinitionsFromDir(dir: string): ProviderDefinition[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
  return files.map((f) => {
    const path = join(dir, f);
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new KeywayError('catalog_invalid', `${path}: not valid YAML: ${(e as Error).message}`, { cause: e });
    }
    return parseDefinition(raw, path);
  });
}
