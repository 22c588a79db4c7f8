/**
 * A real PostgreSQL server for tests. Uses KEYWAY_TEST_DATABASE_URL when set (a server you run
 * yourself; each test gets its own database on it); otherwise starts a throwaway cluster from Debian's
 * `postgresql` binaries on a free loopback port, as a non-root user. Each test gets its own database.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './keyway.ts';

export interface TestPostgres {
  /** A URL to a fresh, empty database. */
  newDatabase(): Promise<string>;
  /** Stops the server (a cluster this helper started) — to test outages; `start` brings it back. */
  stop(): void;
  start(): void;
  close(): Promise<void>;
}

function binDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

/** Why PostgreSQL tests cannot run here, or null when they can. In CI they must run. */
export function postgresUnavailable(): string | null {
  if (process.env['KEYWAY_TEST_DATABASE_URL']) return null;
  if (binDir()) return null;
  const why = 'PostgreSQL is not installed (apt-get install -y postgresql), and KEYWAY_TEST_DATABASE_URL is not set';
  if (process.env['CI']) throw new Error(`${why}; CI must run the PostgreSQL tests.`);
  return why;
}

const asUser = (args: string[]): string[] => (process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args);

function run(cmd: string[]): void {
  const [file, ...rest] = cmd;
  const r = spawnSync(file ?? '', rest, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr || r.stdout}`);
}

let counter = 0;

export async function startTestPostgres(): Promise<TestPostgres> {
  const given = process.env['KEYWAY_TEST_DATABASE_URL'];
  let adminUrl: string;
  let stop = (): void => { throw new Error('this PostgreSQL was not started by the test; cannot stop it'); };
  let start = stop;
  let cleanup = async (): Promise<void> => undefined;
  if (given) {
    adminUrl = given;
  } else {
    const bin = binDir();
    if (!bin) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql');
    const dir = mkdtempSync(join(tmpdir(), 'keyway-pg-'));
    chmodSync(dir, 0o777);
    const data = join(dir, 'data');
    const port = await freePort();
    run(asUser([join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']));
    const opts = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off -c max_connections=200`;
    start = () => run(asUser([join(bin, 'pg_ctl'), '-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', 'start']));
    stop = () => run(asUser([join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']));
    start();
    adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    cleanup = async () => {
      try { stop(); } catch { /* already stopped */ }
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const made: string[] = [];
  return {
    async newDatabase() {
      const name = `kw_test_${process.pid}_${++counter}_${Date.now() % 100000}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      made.push(name);
      const u = new URL(adminUrl);
      u.pathname = `/${name}`;
      return u.toString();
    },
    stop: () => stop(),
    start: () => start(),
    async close() {
      if (given) {
        const admin = new pg.Client({ connectionString: adminUrl });
        await admin.connect();
        try {
          for (const name of made) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await admin.end();
        }
      }
      await cleanup();
    },
  };
}

/** For scripts: the psql-free check that a URL answers. */
export function pgIsReady(url: string): boolean {
  try {
    execFileSync('pg_isready', ['-d', url], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
