/**
 * `npm run bench`: the gateway's cost, against what Node itself can do, all on 127.0.0.1.
 *
 *   upstream       node:http answering a 1 KB JSON document (the "provider")
 *   pass-through   node:http + undici dispatch() to the upstream, one header added, streamed
 *   hello-world    node:http answering a short JSON document
 *   Keyway         `keyway serve` with N stored connections (default 1,000,000), 1,000 of them hot
 *
 * Each target is driven by autocannon with the same load (50 connections, 10 s), three rounds with
 * the targets alternating, and the medians are reported with the target process's CPU time per
 * request. Keyway is measured twice: with only the hot connections stored, then with all of them.
 *
 *   node bench/run.ts [--connections N] [--hot N] [--duration S] [--rounds N] [--concurrency N] [--log-level L] [--store sqlite|postgres]
 *
 * With `--store postgres` Keyway runs on a throwaway PostgreSQL (Debian's postgresql, started on a
 * free loopback port), and bench/refresh-pg.ts runs afterwards: 10,000 connections expiring together
 * refreshed in the background by 4 processes.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { startTestPostgres } from '../test/helpers/postgres.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Proc, startProc } from './procs.ts';
import { type Sample, type Target, drive, median, medianSample } from './load.ts';
import { seedConnections } from './seed.ts';
import { wholeNumber } from './flags.ts';
import { KEYWAY_READY, benchIntegration, keywayEnv, keywayServeArgs } from './keyway-setup.ts';

const { values: flags } = parseArgs({
  options: {
    connections: { type: 'string', default: '1000000' },
    hot: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '50' },
    'log-level': { type: 'string', default: 'warn' },
    store: { type: 'string', default: 'sqlite' },
  },
});
if (flags.store !== 'sqlite' && flags.store !== 'postgres') throw new Error('--store must be sqlite or postgres');
const STORE = flags.store;
const num = wholeNumber;
const TOTAL = num('connections', flags.connections, 1, 5_000_000);
const HOT = Math.min(TOTAL, num('hot', flags.hot, 1, 100_000));
const DURATION = num('duration', flags.duration, 1, 120);
const ROUNDS = num('rounds', flags.rounds, 1, 9);
const CONCURRENCY = num('concurrency', flags.concurrency, 1, 1000);
const LOG_LEVEL = flags['log-level'] ?? 'warn';

const root = join(import.meta.dirname, '..');
const server = (file: string) => join(root, 'bench', 'servers', file);
const procs: Proc[] = [];

async function start(name: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  const p = await startProc(name, args, ready, env);
  procs.push(p);
  return p;
}

/** Set for `--store postgres`: Keyway's database and the master key every process shares. */
const pgEnv: Record<string, string> = {};

async function startKeyway(dataDir: string): Promise<Proc> {
  return start('keyway', keywayServeArgs(dataDir), KEYWAY_READY, { ...keywayEnv(LOG_LEVEL), ...pgEnv });
}

async function stopProc(p: Proc): Promise<void> {
  await p.stop();
  procs.splice(procs.indexOf(p), 1);
}

/** What `measure` found: medians per target, and every round's sample (for ratios paired within a round). */
interface Measured {
  medians: Map<string, Sample>;
  rounds: Map<string, Sample[]>;
}

/** Runs every target `ROUNDS` times, alternating, after a short warm-up of each. */
async function measure(targets: Target[]): Promise<Measured> {
  for (const t of targets) {
    // Every distinct path once (each hot connection's first read, which loads and decrypts it), then
    // a short warm-up: the runs measure calls on connections in use, not their first loads. (Each of
    // autocannon's connections walks the list from its start, so a short run alone reaches only the
    // first few hundred of them.)
    for (const path of new Set(t.paths)) {
      const check = await fetch(`${t.origin}${path}`, { headers: t.headers ?? {} });
      if (check.status !== 200) throw new Error(`${t.name} answered ${check.status}: ${await check.text()}`);
      await check.arrayBuffer();
    }
    await drive(t, { connections: CONCURRENCY, durationS: Math.min(3, DURATION) });
  }
  const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      const s = await drive(t, { connections: CONCURRENCY, durationS: DURATION });
      samples.get(t.name)!.push(s);
      process.stderr.write(`  round ${round + 1} ${t.name.padEnd(22)} ${s.reqPerSec.toFixed(0).padStart(7)} req/s  p50 ${s.p50} ms  p99 ${s.p99} ms  ${s.cpuMicrosPerReq.toFixed(1)} µs CPU/req (main thread ${s.mainCpuMicrosPerReq.toFixed(1)})${s.failures ? `  FAILURES ${s.failures}` : ''}\n`);
    }
  }
  return { medians: new Map([...samples].map(([k, v]) => [k, medianSample(v)])), rounds: samples };
}

/**
 * A Keyway target against its reference, round by round: both ran back to back (the order
 * alternates, so they are always neighbours), seconds apart rather than minutes, which takes most of
 * the machine's drift out. `of` picks the figure; the median over the rounds, and each round's.
 */
function paired(m: Measured, name: string, reference: string, of: (s: Sample) => number): { median: number; each: number[] } {
  const a = m.rounds.get(name) ?? [];
  const b = m.rounds.get(reference) ?? [];
  const each = a.map((s, i) => (b[i] ? of(s) / of(b[i]) : NaN));
  return { median: median(each), each };
}

const fmt = (p: { median: number; each: number[] }): string => `${p.median.toFixed(2)}× (rounds: ${p.each.map((x) => x.toFixed(2)).join(', ')})`;

function table(results: Map<string, Sample>): string {
  const rows = [['target', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'main thread µs/req', 'failures']];
  for (const [name, s] of results) {
    rows.push([name, s.reqPerSec.toFixed(0), s.p50.toFixed(2), s.p99.toFixed(2), s.cpuMicrosPerReq.toFixed(1), s.mainCpuMicrosPerReq.toFixed(1), String(s.failures)]);
  }
  return rows.map((r, i) => `| ${r.join(' | ')} |${i === 0 ? `\n|${r.map(() => '---').join('|')}|` : ''}`).join('\n');
}

const ratio = (a: Sample | undefined, b: Sample | undefined) => (a && b ? a.reqPerSec / b.reqPerSec : NaN);

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyway-bench-'));
  const started = performance.now();
  const pg = STORE === 'postgres' ? await startTestPostgres() : null;
  if (pg) {
    pgEnv['KEYWAY_DATABASE_URL'] = await pg.newDatabase();
    pgEnv['KEYWAY_MASTER_KEY'] = randomBytes(32).toString('base64');
    process.env['KEYWAY_MASTER_KEY'] = pgEnv['KEYWAY_MASTER_KEY']; // the seeder seals with the same key
  }
  const dbUrl = pgEnv['KEYWAY_DATABASE_URL'] ?? null;
  try {
    const upstream = await start('upstream', [server('upstream.ts'), '0'], /listening (\d+)/);
    const upstreamOrigin = `http://127.0.0.1:${upstream.port}`;

    // First start: the organization, the admin key, the master key; then the integration and a bench key.
    let keyway = await startKeyway(dataDir);
    const kwOrigin = `http://127.0.0.1:${keyway.port}`;
    const admin = readFileSync(join(dataDir, 'bootstrap-admin-key'), 'utf8').trim();
    const { integrationId, key } = await benchIntegration(kwOrigin, admin, upstreamOrigin);
    await stopProc(keyway);

    const auth = { authorization: `Bearer ${key}` };
    // The same load for every target, only the server differs: the same request headers, and as many
    // prebuilt requests taken in turn as the Keyway targets cycle through (a reference repeats its path).
    const same = (path: string): string[] => Array.from({ length: HOT }, () => path);
    const direct: Target = { name: 'direct upstream', proc: upstream, origin: upstreamOrigin, paths: same('/v1/items'), headers: auth };
    // The references Keyway is compared with start afresh in each phase, as Keyway does: a process
    // that has lived through a phase and sat idle through the seeding is not the fresh one beside it.
    // (The upstream, which the pass-through and Keyway both call, lives through both phases.)
    const references = async (): Promise<{ bare: Target; helloT: Target; stop: () => Promise<void> }> => {
      const passthrough = await start('pass-through', [server('passthrough.ts'), '0', upstreamOrigin], /listening (\d+)/);
      const hello = await start('hello-world', [server('hello.ts'), '0'], /listening (\d+)/);
      return {
        bare: { name: 'bare pass-through', proc: passthrough, origin: `http://127.0.0.1:${passthrough.port}`, paths: same('/v1/items'), headers: auth },
        helloT: { name: 'hello-world', proc: hello, origin: `http://127.0.0.1:${hello.port}`, paths: same('/'), headers: auth },
        stop: async () => { await stopProc(hello); await stopProc(passthrough); },
      };
    };
    const keywayTargets = (kw: Proc, hot: string[]): Target[] => [
      { name: 'Keyway proxy', proc: kw, origin: `http://127.0.0.1:${kw.port}`, paths: hot.map((id) => `/v1/proxy/${id}/items`), headers: auth },
      { name: 'Keyway /token', proc: kw, origin: `http://127.0.0.1:${kw.port}`, paths: hot.map((id) => `/v1/connections/${id}/token`), headers: auth },
    ];

    process.stderr.write(`Seeding ${HOT.toLocaleString('en')} hot connections…\n`);
    const { hot } = await seedConnections(dataDir, integrationId, { from: 0, to: HOT, hot: HOT }, dbUrl);
    const phases: Phase[] = [];
    if (TOTAL > HOT) {
      keyway = await startKeyway(dataDir);
      const { bare, helloT, stop } = await references();
      process.stderr.write(`Store of ${HOT.toLocaleString('en')} connections:\n`);
      const [proxyT, tokenT] = keywayTargets(keyway, hot);
      phases.push({ stored: HOT, results: await measure([bare, proxyT!, helloT, tokenT!]), memory: keyway.memory() });
      await stop();
      await stopProc(keyway);
      process.stderr.write(`Seeding up to ${TOTAL.toLocaleString('en')} connections…\n`);
      const seeded = await seedConnections(dataDir, integrationId, { from: HOT, to: TOTAL, hot: HOT }, dbUrl);
      process.stderr.write(`  ${((TOTAL - HOT) / (seeded.ms / 1000)).toFixed(0)} rows/s\n`);
    }
    keyway = await startKeyway(dataDir);
    const { bare, helloT } = await references();
    process.stderr.write(`Store of ${TOTAL.toLocaleString('en')} connections:\n`);
    const [proxyT, tokenT] = keywayTargets(keyway, hot);
    phases.push({ stored: TOTAL, results: await measure([direct, bare, proxyT!, helloT, tokenT!]), memory: keyway.memory() });

    report(phases);
    process.stdout.write(`\nCommand: node bench/run.ts --connections ${TOTAL} --hot ${HOT} --duration ${DURATION} --rounds ${ROUNDS} --concurrency ${CONCURRENCY} --log-level ${LOG_LEVEL} --store ${STORE}` +
      `  (${((performance.now() - started) / 60_000).toFixed(1)} min)\n`);
    if (pg) {
      for (const p of [...procs].reverse()) await stopProc(p);
      process.stdout.write('\n### Background refresh on PostgreSQL (bench/refresh-pg.ts)\n\n');
      const r = spawnSync(process.execPath, [join(root, 'bench', 'refresh-pg.ts')], { stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0) process.exitCode = 1;
    }
  } finally {
    for (const p of [...procs].reverse()) await p.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await pg?.close();
  }
}

interface Phase {
  stored: number;
  results: Measured;
  memory: { rss: number; peak: number };
}

function report(phases: Phase[]): void {
  const MB = 1024 * 1024;
  const out: string[] = [];
  for (const ph of phases) {
    const r = ph.results.medians;
    out.push(`\n### Keyway storing ${ph.stored.toLocaleString('en')} connections (${HOT.toLocaleString('en')} hot); medians of ${ROUNDS} rounds of ${DURATION} s, ${CONCURRENCY} connections\n`);
    out.push(table(r));
    const proxy = r.get('Keyway proxy');
    const bare = r.get('bare pass-through');
    out.push('');
    if (r.has('direct upstream')) out.push(`- bare pass-through / direct upstream: ${ratio(bare, r.get('direct upstream')).toFixed(2)}×`);
    out.push(`- Keyway proxy / bare pass-through: ${ratio(proxy, bare).toFixed(2)}× (goal ≥ 0.90×); p99 ${proxy && bare ? `${(proxy.p99 - bare.p99) >= 0 ? '+' : ''}${(proxy.p99 - bare.p99).toFixed(2)} ms` : '?'} (goal ≤ +1 ms)`);
    out.push(`- Keyway /token / hello-world: ${ratio(r.get('Keyway /token'), r.get('hello-world')).toFixed(2)}× (goal ≥ 0.85×)`);
    const reqs = (x: Sample) => x.reqPerSec;
    const p99 = (ph.results.rounds.get('Keyway proxy') ?? []).map((x, i) => x.p99 - (ph.results.rounds.get('bare pass-through')?.[i]?.p99 ?? NaN));
    out.push(`- paired within each round: proxy / pass-through req/s ${fmt(paired(ph.results, 'Keyway proxy', 'bare pass-through', reqs))}, p99 ${p99.map((d) => `${d >= 0 ? '+' : ''}${d} ms`).join(', ')}; /token / hello-world ${fmt(paired(ph.results, 'Keyway /token', 'hello-world', reqs))}`);
    out.push(`- Keyway RSS after the runs: ${(ph.memory.rss / MB).toFixed(0)} MB (peak ${(ph.memory.peak / MB).toFixed(0)} MB; goal < 300 MB)`);
  }
  if (phases.length === 2) {
    const [small, large] = phases as [Phase, Phase];
    const cpu = (p: Phase, n: string) => p.results.medians.get(n)?.cpuMicrosPerReq ?? NaN;
    out.push(`\n### ${small.stored.toLocaleString('en')} vs ${large.stored.toLocaleString('en')} stored connections (goal: within 10%)\n`);
    for (const [n, reference] of [['Keyway proxy', 'bare pass-through'], ['Keyway /token', 'hello-world']] as const) {
      out.push(`- ${n}: req/s ${ratio(large.results.medians.get(n), small.results.medians.get(n)).toFixed(2)}×, CPU µs/req ${cpu(small, n).toFixed(1)} → ${cpu(large, n).toFixed(1)}`);
      // The machine's speed drifts between the two phases (minutes apart): the cost relative to the
      // reference measured beside it in the same round compares them on equal terms.
      const rel = (p: Phase) => paired(p.results, n, reference, (x) => x.cpuMicrosPerReq).median;
      out.push(`  CPU per request relative to the ${reference} beside it: ${rel(small).toFixed(2)}× → ${rel(large).toFixed(2)}× (${((rel(large) / rel(small) - 1) * 100).toFixed(0)}%)`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

const stopAll = () => { for (const p of procs) p.child.kill('SIGTERM'); };
process.once('SIGINT', () => { stopAll(); process.exit(130); });
main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  stopAll();
  process.exitCode = 1;
});
