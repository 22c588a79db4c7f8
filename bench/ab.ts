/**
 * `npm run bench:ab`: Keyway variants measured side by side, each paired with the same reference,
 * to tell whether a change moves what a call costs. On a machine whose speed drifts, two full runs
 * minutes apart cannot show a few microseconds; variants that run in the same rounds, each right
 * beside the reference, can, as differences paired within each round.
 *
 *   node bench/ab.ts [--target proxy|token] [--rounds N] [--duration S] [--hot N] [--connections N]
 *                    [--concurrency N] [--together] --variant SPEC [--variant SPEC …]
 *
 * SPEC is a label, then words: `--flag` (a Node or V8 flag, after README's), `NAME=value` (an
 * environment variable), `@DIR` (another checkout of Keyway whose sources run, such as a
 * `git worktree` of another commit with `node_modules` linked in), `+N` (N connections stored
 * instead of `--connections`: a copy of the data directory seeded further, the same hot ones).
 * For example:
 *
 *   node bench/ab.ts --variant base --variant "window5s KEYWAY_AUDIT_GROUP_MS=5000" --variant "before @/tmp/keyway-before"
 *   node bench/ab.ts --target token --variant thousand --variant "million +1000000"
 *
 * Every variant is its own process on one shared data directory (the same organization, key and
 * connections; a `+N` variant on its copy). The reference is the bare pass-through for `proxy` and the hello-world for `token`.
 * CPU per call is read from /proc for each thread: the request thread, the audit thread and V8's
 * helpers (its collector and compilers) apart. Everything runs on 127.0.0.1.
 *
 * `--together` drives each variant at the same time as the reference (each with --concurrency
 * connections) instead of right after it: they then share the machine's state, whose speed
 * drifts from second to second, so the CPU each spends per call compares much more closely (two
 * identical servers within about 1–2 µs, against about 8 µs one after the other). Their req/s are
 * not compared then (they compete for the same CPUs); what is reported is each variant's CPU per
 * call over the reference's in the same seconds.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Proc, startProc } from './procs.ts';
import { type LoadOptions, type Sample, type Target, drive, median } from './load.ts';
import { seedConnections } from './seed.ts';
import { wholeNumber } from './flags.ts';
import { KEYWAY_READY, benchIntegration, keywayEnv, keywayServeArgs } from './keyway-setup.ts';

const USAGE = 'Usage: node bench/ab.ts [--target proxy|token] [--rounds N] [--duration S] [--hot N] [--connections N] [--concurrency N] [--together] --variant SPEC [--variant SPEC …]';
const { values: flags } = parseArgs({
  options: {
    target: { type: 'string', default: 'proxy' },
    rounds: { type: 'string', default: '8' },
    duration: { type: 'string', default: '3' },
    hot: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '50' },
    variant: { type: 'string', multiple: true, default: [] },
    together: { type: 'boolean', default: false },
  },
});
const num = wholeNumber;
if (flags.target !== 'proxy' && flags.target !== 'token') throw new Error(`--target must be proxy or token. ${USAGE}`);
const TARGET = flags.target;
const ROUNDS = num('rounds', flags.rounds, 1, 50);
const DURATION = num('duration', flags.duration, 1, 60);
const HOT = num('hot', flags.hot, 1, 100_000);
const TOTAL = Math.max(HOT, num('connections', flags.connections, 1, 5_000_000));
const CONCURRENCY = num('concurrency', flags.concurrency, 1, 1000);
const TOGETHER = flags.together === true;

interface Variant {
  label: string;
  nodeFlags: string[];
  env: Record<string, string>;
  checkout: string | undefined;
  /** Connections stored for this variant (`+N`), or undefined for `--connections`. */
  stored: number | undefined;
}

function parseVariant(spec: string): Variant {
  const [label, ...words] = spec.trim().split(/\s+/);
  if (!label || label.startsWith('-') || label.includes('=') || label.startsWith('@')) throw new Error(`a --variant starts with its label: "${spec}". ${USAGE}`);
  const v: Variant = { label, nodeFlags: [], env: {}, checkout: undefined, stored: undefined };
  for (const w of words) {
    if (w.startsWith('--')) v.nodeFlags.push(w);
    else if (w.startsWith('@')) v.checkout = w.slice(1);
    else if (w.startsWith('+')) v.stored = num('+N', w.slice(1), 1, 5_000_000);
    else if (/^[A-Z_][A-Z0-9_]*=/.test(w)) v.env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
    else throw new Error(`"${w}" in --variant "${spec}" is not a --flag, NAME=value, @DIR or +N. ${USAGE}`);
  }
  return v;
}

const variants = (flags.variant ?? []).map(parseVariant);
for (const v of variants) {
  if (v.stored !== undefined && v.stored <= TOTAL) throw new Error(`"+${v.stored}" in --variant ${v.label}: a copy is seeded further, so give more than --connections (${TOTAL}).`);
}
if (variants.length === 0) throw new Error(`Give at least one --variant. ${USAGE}`);
if (new Set(variants.map((v) => v.label)).size !== variants.length) throw new Error('Each --variant needs a label of its own.');

/** One variant's run in one round, with the reference's run right before it. */
interface Paired {
  reference: Sample;
  sample: Sample;
  /** CPU µs per call by group of threads (THREAD_GROUPS). */
  threads: Map<string, number>;
}

/** The threads of a Keyway process, as the report groups them. */
const THREAD_GROUPS = ['request thread', 'audit thread', 'V8 helpers', 'other'] as const;

function threadGroup(isMain: boolean, name: string): (typeof THREAD_GROUPS)[number] {
  if (isMain) return 'request thread';
  if (name === 'WorkerThread') return 'audit thread'; // Keyway's one worker_threads Worker
  if (name.startsWith('V8')) return 'V8 helpers'; // the collector's and the compilers' threads
  return 'other';
}

/** CPU µs per call of each group of threads over one run. */
function threadMicros(proc: Proc, before: ReturnType<Proc['threadCpuMicros']>, after: ReturnType<Proc['threadCpuMicros']>, calls: number): Map<string, number> {
  const out = new Map<string, number>(THREAD_GROUPS.map((g) => [g, 0]));
  for (const [tid, t] of after) {
    const group = threadGroup(tid === String(proc.child.pid), t.name);
    out.set(group, out.get(group)! + (t.micros - (before.get(tid)?.micros ?? 0)) / calls);
  }
  return out;
}

/** The reference, then the variant right after it; with `--together`, both at the same time. */
async function pairedRun(reference: Target, t: Target, load: LoadOptions): Promise<Paired> {
  const first = TOGETHER ? null : await drive(reference, load);
  const before = t.proc.threadCpuMicros();
  const [ref, sample] = await Promise.all([first ?? drive(reference, load), drive(t, load)]);
  return { reference: ref, sample, threads: threadMicros(t.proc, before, t.proc.threadCpuMicros(), sample.requests) };
}

const signed = (x: number, digits: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

/**
 * A variant against its reference in one round: one after the other, its req/s over the
 * reference's; at the same time (they compete for the CPUs, so req/s say little), its CPU per call
 * over the reference's.
 */
const versus = (p: Paired): number => TOGETHER ? p.sample.cpuMicrosPerReq - p.reference.cpuMicrosPerReq : p.sample.reqPerSec / p.reference.reqPerSec;

const procs: Proc[] = [];
const server = (file: string): string => join(import.meta.dirname, 'servers', file);
const dataDir = mkdtempSync(join(tmpdir(), 'keyway-ab-'));
/** The `+N` variants' copies of it. */
const copies: string[] = [];

async function main(): Promise<void> {
  const upstream = await startProc('upstream', [server('upstream.ts'), '0'], /listening (\d+)/);
  procs.push(upstream);
  const upstreamOrigin = `http://127.0.0.1:${upstream.port}`;
  const refProc = TARGET === 'proxy'
    ? await startProc('pass-through', [server('passthrough.ts'), '0', upstreamOrigin], /listening (\d+)/)
    : await startProc('hello-world', [server('hello.ts'), '0'], /listening (\d+)/);
  procs.push(refProc);

  const first = await startProc('keyway', keywayServeArgs(dataDir), KEYWAY_READY, keywayEnv('warn'));
  const admin = readFileSync(join(dataDir, 'bootstrap-admin-key'), 'utf8').trim();
  const { integrationId, key } = await benchIntegration(`http://127.0.0.1:${first.port}`, admin, upstreamOrigin);
  await first.stop();
  process.stderr.write(`Seeding ${TOTAL.toLocaleString('en')} connections (${HOT.toLocaleString('en')} hot)…\n`);
  const { hot } = await seedConnections(dataDir, integrationId, { from: 0, to: TOTAL, hot: HOT });
  // A `+N` variant's data directory: a copy of this one (the same organization, key and hot
  // connections) seeded further, so only the number of rows differs.
  const dirs = new Map<number, string>();
  for (const n of new Set(variants.map((v) => v.stored ?? TOTAL))) {
    if (n <= TOTAL) continue;
    const dir = `${dataDir}-${n}`;
    copies.push(dir);
    cpSync(dataDir, dir, { recursive: true });
    process.stderr.write(`Seeding a copy up to ${n.toLocaleString('en')} connections…\n`);
    await seedConnections(dir, integrationId, { from: TOTAL, to: n, hot: HOT });
    dirs.set(n, dir);
  }

  const headers = { authorization: `Bearer ${key}` };
  const refPath = TARGET === 'proxy' ? '/v1/items' : '/';
  const reference: Target = { name: refProc.name, proc: refProc, origin: `http://127.0.0.1:${refProc.port}`, paths: hot.map(() => refPath), headers };
  const targets: Target[] = [];
  for (const v of variants) {
    const p = await startProc(v.label, keywayServeArgs(dirs.get(v.stored ?? TOTAL) ?? dataDir, v.nodeFlags, v.checkout), KEYWAY_READY, { ...keywayEnv('warn'), ...v.env });
    procs.push(p);
    const paths = hot.map((id) => (TARGET === 'proxy' ? `/v1/proxy/${id}/items` : `/v1/connections/${id}/token`));
    targets.push({ name: v.label, proc: p, origin: `http://127.0.0.1:${p.port}`, paths, headers });
  }
  for (const t of [reference, ...targets]) {
    for (const path of new Set(t.paths)) {
      const res = await fetch(`${t.origin}${path}`, { headers });
      if (res.status !== 200) throw new Error(`${t.name} answered ${res.status} to ${path}: ${await res.text()}`);
      await res.arrayBuffer();
    }
    await drive(t, { connections: CONCURRENCY, durationS: 2 });
  }

  const runs = new Map<string, Paired[]>(targets.map((t) => [t.name, []]));
  const load = { connections: CONCURRENCY, durationS: DURATION };
  const told = (round: number, t: Target, p: Paired): void => {
    const { sample, reference: ref, threads } = p;
    const vs = TOGETHER
      ? `${signed(versus(p), 1)} µs/call over the reference (${ref.cpuMicrosPerReq.toFixed(1)}), at the same time`
      : `${versus(p).toFixed(3)}× (${sample.reqPerSec.toFixed(0)} against ${ref.reqPerSec.toFixed(0)} req/s)`;
    process.stderr.write(`  round ${round + 1} ${t.name.padEnd(12)} ${vs}, p99 ${sample.p99} against ${ref.p99} ms, ${sample.cpuMicrosPerReq.toFixed(1)} µs CPU/call ` +
      `(${[...threads].map(([n, us]) => `${n} ${us.toFixed(1)}`).join(', ')})${sample.failures ? `  FAILURES ${sample.failures}` : ''}\n`);
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      const p = await pairedRun(reference, t, load);
      runs.get(t.name)!.push(p);
      told(round, t, p);
    }
  }
  report(runs, targets.map((t) => t.proc));
}

function report(runs: Map<string, Paired[]>, kw: Proc[]): void {
  const base = runs.get(variants[0]!.label)!;
  const threadNames = THREAD_GROUPS;
  const out: string[] = [
    `\n### ${TARGET === 'proxy' ? 'Keyway proxy against the bare pass-through' : 'Keyway /token against the hello-world'}${TOGETHER ? ', driven at the same time' : ''}: medians of ${ROUNDS} rounds of ${DURATION} s\n`,
    `| variant | ${TOGETHER ? 'CPU µs/call over the reference' : 'req/s ratio'} (each round) | p99 over the reference | CPU µs/call | ${threadNames.map((n) => `of it, ${n}`).join(' | ')} | paired against ${variants[0]!.label}: ${TOGETHER ? 'CPU over the reference' : 'CPU, ratio'} | RSS (peak) |`,
    `|${Array.from({ length: 6 + threadNames.length }, () => '---').join('|')}|`,
  ];
  variants.forEach((v, i) => {
    const r = runs.get(v.label)!;
    const each = r.map(versus);
    const cpuDiff = median(r.map((p, k) => p.sample.cpuMicrosPerReq - base[k]!.sample.cpuMicrosPerReq));
    const ratioDiff = median(each.map((x, k) => x - versus(base[k]!)));
    const mem = kw[i]!.memory();
    out.push(`| ${v.label} | ${TOGETHER ? `${signed(median(each), 1)} µs` : `${median(each).toFixed(3)}×`} (${each.map((x) => TOGETHER ? signed(x, 1) : x.toFixed(2)).join(', ')}) ` +
      `| ${median(r.map((p) => p.sample.p99 - p.reference.p99)).toFixed(1)} ms | ${median(r.map((p) => p.sample.cpuMicrosPerReq)).toFixed(1)} ` +
      `| ${threadNames.map((n) => median(r.map((p) => p.threads.get(n) ?? 0)).toFixed(1)).join(' | ')} ` +
      `| ${i === 0 ? '—' : TOGETHER ? `${signed(ratioDiff, 1)} µs` : `${signed(cpuDiff, 1)} µs, ${signed(ratioDiff, 3)}`} ` +
      `| ${(mem.rss / 2 ** 20).toFixed(0)} MB (${(mem.peak / 2 ** 20).toFixed(0)}) |`);
  });
  const specs = (flags.variant ?? []).map((s) => `--variant "${s}"`).join(' ');
  out.push(`\nCommand: node bench/ab.ts --target ${TARGET} --rounds ${ROUNDS} --duration ${DURATION} --hot ${HOT} --connections ${TOTAL} --concurrency ${CONCURRENCY}${TOGETHER ? ' --together' : ''} ${specs}\n`);
  process.stdout.write(out.join('\n'));
}

const stopAll = (): void => { for (const p of procs) p.child.kill('SIGTERM'); };
process.once('SIGINT', () => { stopAll(); process.exit(130); });
try {
  await main();
} finally {
  for (const p of procs.reverse()) await p.stop();
  for (const d of [dataDir, ...copies]) rmSync(d, { recursive: true, force: true });
}
