import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BOOTSTRAP_KEY_FILE } from '../access/index.ts';

/**
 * CLI commands that change state go through the running server's API (DESIGN.md: a change made by
 * the CLI takes effect in running servers at once), authenticated with an API key.
 */
/** A call to the running server's API; its errors come back as the server's own message. */
export function client(base: string, key: string) {
  return async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw new Error(`Cannot reach Keyway at ${base}. Is \`keyway serve\` running? Give its address with --url.`);
    }
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) {
      const err = json['error'] as { code?: string; message?: string } | undefined;
      throw new Error(`${err?.message ?? `HTTP ${res.status}`}${err?.code ? ` (${err.code})` : ''}`);
    }
    return json;
  };
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

