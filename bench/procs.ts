/** The bench's child processes: started, awaited until they listen, measured through /proc, stopped. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

export interface Proc {
  name: string;
  child: ChildProcess;
  port: number;
  /** CPU time used so far (user + system), in microseconds. */
  cpuMicros(): number;
  /** CPU time of the thread answering requests (a process's other threads, such as Keyway's audit thread, left out). */
  mainThreadCpuMicros(): number;
  /** CPU time so far of each thread, by thread id, with its name (`/proc/<pid>/task/<tid>/comm`). */
  threadCpuMicros(): Map<string, { name: string; micros: number }>;
  /** Resident memory now and at its peak, in bytes. */
  memory(): { rss: number; peak: number };
  stop(): Promise<void>;
}

const TICK_MICROS = 1_000_000 / 100; // Linux USER_HZ is 100

/** Starts `node args…` and resolves once its output matches `ready` (whose first group is the port). */
export function startProc(name: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<Proc> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${out}`)); }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.stdout?.resume();
      child.stderr?.on('data', (e: Buffer) => process.stderr.write(`[${name}] ${e.toString()}`));
      resolve(wrap(name, child, Number(m[1])));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited with ${code}:\n${out}`)); });
  });
}

/** utime + stime (fields 14 and 15) of a process or one of its threads. */
function cpuOf(statFile: string): number {
  const stat = readFileSync(statFile, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MICROS;
}

function wrap(name: string, child: ChildProcess, port: number): Proc {
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name} has no pid`);
  return {
    name, child, port,
    cpuMicros: () => cpuOf(`/proc/${pid}/stat`),
    mainThreadCpuMicros: () => cpuOf(`/proc/${pid}/task/${pid}/stat`),
    threadCpuMicros() {
      const threads = new Map<string, { name: string; micros: number }>();
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
          threads.set(tid, { name: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(), micros: cpuOf(`/proc/${pid}/task/${tid}/stat`) });
        } catch {
          // the thread ended between the listing and the read
        }
      }
      return threads;
    },
    memory() {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
      return { rss: kb('VmRSS'), peak: kb('VmHWM') };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
