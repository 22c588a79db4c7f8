/** Minimal flag parsing: `--name value`, `--name=value`, `--flag`. Unknown flags are errors. */
export interface Parsed {
  positional: string[];
  flags: Record<string, string | true>;
}

export function parseArgs(argv: string[], known: Record<string, 'string' | 'boolean'>): Parsed {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) { positional.push(a); continue; }
    const [rawName, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const kind = known[rawName];
    if (!kind) throw new Error(`Unknown option --${rawName}. Run \`keyway --help\`.`);
    if (kind === 'boolean') { flags[rawName] = true; continue; }
    const value = inline ?? argv[++i];
    if (value === undefined || value.startsWith('--')) throw new Error(`--${rawName} needs a value.`);
    flags[rawName] = value;
  }
  return { positional, flags };
}
