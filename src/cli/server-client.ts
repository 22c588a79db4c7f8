import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BOOTSTRAP_KEY_FILE } from '../access/index.ts';
import { Keyway, KeywayApiError, KeywayUnreachableError } from '../sdk/index.ts';

/**
 * CLI commands that change state go through the running server's API (DESIGN.md: a change made by
 * the CLI takes effect in running servers at once), with the SDK and an API key.
 */
export function serverAt(base: string, key: string): Keyway {
  return new Keyway({ url: base, apiKey: key });
}

/** An SDK error as the CLI says it: the server's own message and code, or where to point `--url`. */
export function cliError(e: unknown): Error {
  if (e instanceof KeywayUnreachableError) return new Error(`Cannot reach Keyway at ${e.url}. Is \`keyway serve\` running? Give its address with --url.`);
  if (e instanceof KeywayApiError) return new Error(`${e.message} (${e.code})`);
  return e instanceof Error ? e : new Error(String(e));
}

export function apiKeyFrom(env: NodeJS.ProcessEnv, dataDir: string): string {
  const fromEnv = env['KEYWAY_API_KEY']?.trim();
  if (fromEnv) return fromEnv;
  const file = join(resolve(dataDir), BOOTSTRAP_KEY_FILE);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new Error(`No API key: set KEYWAY_API_KEY, or run where ${file} exists (written by the server's first start).`);
  }
}

