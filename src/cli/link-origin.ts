import type { Config } from '../core/config.ts';

export interface LinkOrigin {
  /** What the printed link starts with, without a trailing `/`. */
  base: string;
  /** Said with the link when the address is a guess, with how to correct it; null when it was given. */
  note: string | null;
}

/**
 * Where a link the CLI prints (sign-in, invite) points: --url, else KEYWAY_PUBLIC_URL, else the
 * address `keyway serve` would listen on with this environment. The CLI cannot know a port or host
 * the server was given as flags, so in that last case the note says where the address came from.
 */
export function linkOrigin(urlFlag: string | undefined, config: Config, env: NodeJS.ProcessEnv): LinkOrigin {
  if (urlFlag !== undefined) {
    const protocol = URL.canParse(urlFlag) ? new URL(urlFlag).protocol : null;
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw new Error(`--url must be the address people reach Keyway at, such as http://127.0.0.1:3030, got "${urlFlag}".`);
    }
    return { base: urlFlag.replace(/\/+$/, ''), note: null };
  }
  if (env['KEYWAY_PUBLIC_URL'] !== undefined) return { base: config.publicUrl, note: null };
  return {
    base: config.publicUrl,
    note: `The link's address ${config.publicUrl} comes from KEYWAY_HOST and KEYWAY_PORT (defaults 127.0.0.1 and 3030). If Keyway was started with --port or --host, run this again with --url and its address.`,
  };
}
