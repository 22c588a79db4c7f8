import { readFileSync } from 'node:fs';
import { loadConfig } from '../core/config.ts';
import { parseArgs } from './args.ts';
import type { NewConnection } from '../sdk/index.ts';
import { apiKeyFrom, cliError, serverAt } from './server-client.ts';

export interface ImportReport {
  imported: number;
  failures: Array<{ line: number; message: string }>;
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIo: Io = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s), env: process.env };

/** Lines in flight at once: enough to be quick, few enough not to crowd the server. */
const PARALLEL = 8;

/**
 * `keyway import FILE.jsonl`: each non-empty line is POSTed to /v1/connections as {type: "oauth2", …}.
 * A line that is not JSON, is not an object, or that the server refuses is reported with its number;
 * nothing stops the rest. Secrets in a line never appear in the report (the server's messages hold none).
 */
export async function importCommand(argv: string[], io: Io = defaultIo): Promise<ImportReport> {
  const { positional, flags } = parseArgs(argv, { url: 'string', 'data-dir': 'string' });
  const file = positional[0];
  if (!file || positional.length > 1) throw new Error('Usage: keyway import FILE.jsonl [--url URL]');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`Cannot read ${file}. Give the path of a JSON Lines file (one connection per line).`);
  }
  const config = loadConfig(io.env, { dataDir: flags['data-dir'] as string | undefined });
  const base = ((flags['url'] as string | undefined) ?? io.env['KEYWAY_URL'] ?? config.publicUrl).replace(/\/+$/, '');
  const keyway = serverAt(base, apiKeyFrom(io.env, config.dataDir));

  const lines = text.split('\n').map((raw, i) => ({ n: i + 1, raw: raw.trim() })).filter((l) => l.raw !== '');
  const report: ImportReport = { imported: 0, failures: [] };
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let l = lines[next++]; l; l = lines[next++]) {
      let row: unknown;
      try {
        row = JSON.parse(l.raw);
      } catch {
        report.failures.push({ line: l.n, message: 'not valid JSON' });
        continue;
      }
      if (typeof row !== 'object' || row === null || Array.isArray(row)) {
        report.failures.push({ line: l.n, message: 'not a JSON object' });
        continue;
      }
      try {
        // The server checks each field and says which is wrong; the line is sent as written.
        await keyway.connections.create({ ...row, type: 'oauth2' } as NewConnection);
        report.imported++;
      } catch (e) {
        report.failures.push({ line: l.n, message: cliError(e).message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, lines.length) }, worker));
  report.failures.sort((a, b) => a.line - b.line);
  for (const f of report.failures) io.err(`line ${f.line}: ${f.message}\n`);
  io.out(`Imported ${report.imported} of ${lines.length} lines${report.failures.length ? `; ${report.failures.length} failed (listed above)` : ''}.\n`);
  return report;
}
