/** The `keyway` command as a newcomer meets it following the README: wrong folders, ports, help, pipes. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

/** The environment of a shell with no KEYWAY_ variable set, plus `env`. */
function shellEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYWAY_')));
  return { ...clean, ...env };
}

async function cli(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { env: shellEnv(opts.env ?? {}), cwd: opts.cwd });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('the keyway command, as the README leads a newcomer to use it', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'keyway-newcomer-'));
  let t: TestKeyway;
  before(async () => { t = await startTestKeyway({ sandbox: true }); });
  after(async () => {
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('doctor passes on the folder `npm start` made: the sandbox integration is the dev sandbox, not a missing provider', async () => {
    const r = await cli(['doctor', '--data-dir', t.dataDir]);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^ok\s+provider Keyway Sandbox: the development sandbox/m);
    assert.doesNotMatch(r.stdout, /FAIL|not in this version's catalog/);
  });

  for (const args of [['keys', 'create', '--name', 'ci'], ['login-link'], ['org', 'create', 'Acme', '--owner-email', 'o@acme.test']]) {
    test(`\`keyway ${args.slice(0, 2).join(' ')}\` in a folder with no Keyway data refuses, and creates nothing`, async () => {
      const missing = join(scratch, `typo-${args[0]}`);
      const r = await cli([...args, '--data-dir', missing]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '', 'no key or link printed');
      assert.equal(r.stderr, `keyway: No Keyway data in ${missing}. Pass --data-dir, or start \`keyway serve\` once.\n`);
      assert.equal(existsSync(missing), false, 'no data folder made');

      const elsewhere = mkdtempSync(join(scratch, 'docs-'));
      const here = await cli(args, { cwd: elsewhere });
      assert.equal(here.code, 1);
      assert.match(here.stderr, /No Keyway data in .*\.keyway\. Pass --data-dir/);
      assert.deepEqual(readdirSync(elsewhere), [], 'no ./.keyway made in the wrong folder');
    });
  }

  test('login-link and org create print links at --url, and say where the address came from when it is a guess', async () => {
    const given = await cli(['login-link', '--url', 'http://127.0.0.1:4300/', '--data-dir', t.dataDir]);
    assert.equal(given.code, 0, given.stderr);
    assert.match(given.stdout, /^http:\/\/127\.0\.0\.1:4300\/auth\/link\/[A-Za-z0-9_-]{43}\n$/);
    assert.doesNotMatch(given.stderr, /KEYWAY_PORT/);

    const guessed = await cli(['login-link', '--data-dir', t.dataDir]);
    assert.match(guessed.stdout, /^http:\/\/127\.0\.0\.1:3030\/auth\/link\//);
    assert.match(guessed.stderr, /address http:\/\/127\.0\.0\.1:3030 comes from KEYWAY_HOST and KEYWAY_PORT .* started with --port or --host, run this again with --url/);
    const fromEnv = await cli(['login-link', '--data-dir', t.dataDir], { env: { KEYWAY_PUBLIC_URL: 'https://keyway.example.test' } });
    assert.match(fromEnv.stdout, /^https:\/\/keyway\.example\.test\/auth\/link\//);
    assert.doesNotMatch(fromEnv.stderr, /--url/);

    const org = await cli(['org', 'create', 'Port Co', '--owner-email', 'p@port.test', '--url', 'http://127.0.0.1:4300', '--data-dir', t.dataDir]);
    assert.equal(org.code, 0, org.stderr);
    assert.match(org.stdout, /\nhttp:\/\/127\.0\.0\.1:4300\/auth\/link\/[A-Za-z0-9_-]{43}\n$/);

    const bad = await cli(['login-link', '--url', '127.0.0.1:4300', '--data-dir', t.dataDir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--url must be the address people reach Keyway at, such as http:\/\/127\.0\.0\.1:3030, got "127\.0\.0\.1:4300"/);
  });

  test('`keys create` refuses an extra argument instead of ignoring it, and creates no key', async () => {
    const r = await cli(['keys', 'create', '--name', 'extra-arg-check', 'bot', '--data-dir', t.dataDir]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /Unexpected "bot"\. Usage: keyway keys create --name NAME .*quote a name with spaces/);
    assert.doesNotMatch((await cli(['keys', 'list', '--data-dir', t.dataDir])).stdout, /extra-arg-check/);
  });

  test('`serve` on a port already in use says Keyway may be running there and how to pick another port', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    try {
      const port = (busy.address() as AddressInfo).port;
      const r = await cli(['serve', '--port', String(port), '--data-dir', join(scratch, 'second')], { env: { KEYWAY_SANDBOX: '0', KEYWAY_LOG_LEVEL: 'silent' } });
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `keyway: 127.0.0.1:${port} is already in use. Is Keyway already running there? Stop it, or pick another port with --port N (or KEYWAY_PORT).\n`);
    } finally {
      busy.close();
    }
  });

  test('a wrong KEYWAY_LOG_LEVEL names the variable and the levels it takes', async () => {
    const r = await cli(['serve', '--data-dir', join(scratch, 'levels')], { env: { KEYWAY_LOG_LEVEL: 'verbose' } });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'keyway: KEYWAY_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (default info), got "verbose".\n');
  });

  test('output piped to a reader that stops early (`| head`) ends quietly', async () => {
    const child = spawn(process.execPath, [CLI, 'docs', 'providers'], { env: shellEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first line is written
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((r) => child.once('close', r));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });

  test('`COMMAND --help` prints that command\'s help; the main help lists the variables the commands read', async () => {
    for (const [args, usage] of [
      [['serve', '--help'], 'keyway serve [--port N]'], [['keys', 'create', '--help'], 'keyway keys create --name NAME'],
      [['doctor', '--help'], 'keyway doctor [--data-dir DIR]'], [['login-link', '--help'], 'keyway login-link [--email E]'],
      [['org', 'create', '-h'], 'keyway org create NAME'], [['import', '--help'], 'keyway import FILE.jsonl'],
    ] as const) {
      const r = await cli([...args]);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stdout.startsWith(`Usage:\n  ${usage}`), `${args.join(' ')}:\n${r.stdout}`);
    }
    assert.match((await cli(['import', '--help'])).stdout, /The API key is KEYWAY_API_KEY/);
    assert.match((await cli(['docs'])).stderr, /Usage: keyway docs providers/);
    const env = (await cli(['--help'])).stdout.split('\nEnvironment:\n')[1] ?? '';
    for (const v of ['KEYWAY_PORT', 'KEYWAY_HOST', 'KEYWAY_DEV', 'KEYWAY_PUBLIC_URL', 'KEYWAY_API_KEY', 'KEYWAY_URL']) {
      assert.match(env, new RegExp(`^  ${v} `, 'm'), v);
    }
  });
});
