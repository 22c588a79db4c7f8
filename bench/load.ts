/** One load run: autocannon against a target, with the target process's CPU time measured around it. */
import autocannon from 'autocannon';
import type { Proc } from './procs.ts';

export interface Target {
  name: string;
  /** The process serving the target (whose CPU is measured). */
  proc: Proc;
  origin: string;
  /**
   * Paths requested in turn (one connection after the other for the Keyway targets). Give every
   * target a list of the same length (a reference repeats its one path): the load generator then
   * does the same work for each.
   */
  paths: string[];
  headers?: Record<string, string>;
}

export interface Sample {
  reqPerSec: number;
  p50: number;
  p99: number;
  cpuMicrosPerReq: number;
  /** The part of it spent on the main thread (the one answering requests). */
  mainCpuMicrosPerReq: number;
  requests: number;
  failures: number;
}

export interface LoadOptions {
  connections: number;
  durationS: number;
}

export async function drive(t: Target, opts: LoadOptions): Promise<Sample> {
  const cpuBefore = t.proc.cpuMicros();
  const mainBefore = t.proc.mainThreadCpuMicros();
  // Every target is sent a list of prebuilt requests, taken in turn. (A `setupRequest` that
  // changes the path instead makes autocannon rebuild every request: 55–62 against 28–46 µs of the
  // load generator's CPU per request, which on a machine it shares with the server lowered the targets
  // driven that way by a quarter: measured against the same hello-world.)
  const result = await autocannon({
    url: `${t.origin}${t.paths[0]}`,
    connections: opts.connections,
    duration: opts.durationS,
    headers: t.headers ?? {},
    requests: t.paths.map((path) => ({ path })),
  });
  const cpu = t.proc.cpuMicros() - cpuBefore;
  const main = t.proc.mainThreadCpuMicros() - mainBefore;
  const ok = result.requests.total;
  const failures = result.non2xx + result.errors + result.timeouts;
  return {
    reqPerSec: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMicrosPerReq: ok > 0 ? cpu / ok : NaN,
    mainCpuMicrosPerReq: ok > 0 ? main / ok : NaN,
    requests: ok,
    failures,
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function medianSample(samples: Sample[]): Sample {
  return {
    reqPerSec: median(samples.map((s) => s.reqPerSec)),
    p50: median(samples.map((s) => s.p50)),
    p99: median(samples.map((s) => s.p99)),
    cpuMicrosPerReq: median(samples.map((s) => s.cpuMicrosPerReq)),
    mainCpuMicrosPerReq: median(samples.map((s) => s.mainCpuMicrosPerReq)),
    requests: samples.reduce((a, s) => a + s.requests, 0),
    failures: samples.reduce((a, s) => a + s.failures, 0),
  };
}
