import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './helpers/keyway.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

function waitForOutput(child: ChildProcess, pattern: RegExp, ms = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}`)), ms);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) { clearTimeout(timer); resolve(out); }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}:\n${out}`)); });
  });
}

describe('the keyway command', { timeout: 60_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyway-cli-'));
  let server: ChildProcess | null = null;
  after(() => {
    server?.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('--help explains every command', async () => {
    const { stdout } = await run(process.execPath, [CLI, '--help']);
    for (const s of ['serve', '--port', '--host', '--data-dir', '--dev', 'keys create', '--name', 'KEYWAY_PUBLIC_URL']) assert.ok(stdout.includes(s), s);
  });

  test('an unknown command or flag says what to run instead', async () => {
    await assert.rejects(run(process.execPath, [CLI, 'frobnicate']), (e: { stderr: string }) => /Unknown command "frobnicate".*keyway --help/.test(e.stderr));
    await assert.rejects(run(process.execPath, [CLI, 'serve', '--colour', 'red']), (e: { stderr: string }) => /Unknown option --colour/.test(e.stderr));
  });

  test('serve starts on embedded defaults, writes the keys with mode 0600 and never prints the admin key', async () => {
    const port = await freePort();
    server = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, '--dev'], {
      env: { ...process.env, KEYWAY_HOST: '10.9.9.9', KEYWAY_PORT: '1', KEYWAY_DEV: '0' }, // flags win over the environment
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = await waitForOutput(server, /Bootstrap admin API key: in .*not printed/);
    assert.match(out, new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`));
    assert.match(out, /DEVELOPMENT MODE/);
    const keyFile = join(dataDir, 'bootstrap-admin-key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, 'master.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, 'keyway.db')).mode & 0o777, 0o600);
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    const key = readFileSync(keyFile, 'utf8').trim();
    assert.ok(!out.includes(key));
    const res = await fetch(`http://127.0.0.1:${port}/v1/providers`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 200);

    // keys create, while the server runs: the new key works at once.
    const created = await run(process.execPath, [CLI, 'keys', 'create', '--name', 'ci bot', '--data-dir', dataDir]);
    const newKey = created.stdout.trim();
    assert.match(newKey, /^kw_[A-Za-z0-9_-]{43}$/);
    assert.match(created.stderr, /shown only this once/);
    const withNew = await fetch(`http://127.0.0.1:${port}/v1/integrations`, { headers: { authorization: `Bearer ${newKey}` } });
    assert.equal(withNew.status, 200);
    assert.ok(!readFileSync(join(dataDir, 'keyway.db')).includes(Buffer.from(newKey)));
  });

  test('a restart reuses the data: same organization, the sandbox integration kept', async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    const port = await freePort();
    server = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--data-dir', dataDir, '--dev'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = await waitForOutput(server, /listening on/);
    assert.ok(!out.includes('Bootstrap admin API key'));
    const key = readFileSync(join(dataDir, 'bootstrap-admin-key'), 'utf8').trim();
    const res = await fetch(`http://127.0.0.1:${port}/v1/integrations`, { headers: { authorization: `Bearer ${key}` } });
    const body = await res.json() as { data: Array<{ provider: string }> };
    assert.equal(body.data.filter((i) => i.provider === 'sandbox').length, 1);
    // `connect` talks to that server through the SDK: its refusals come back in the server's words.
    await assert.rejects(run(process.execPath, [CLI, 'connect', 'nosuch', '--url', `http://127.0.0.1:${port}`, '--data-dir', dataDir]),
      (e: { stderr: string }) => /keyway: No integration "nosuch"\. Integrations: int_\S+ \(sandbox, "Keyway Sandbox"\)\./.test(e.stderr));
    await assert.rejects(run(process.execPath, [CLI, 'connect', 'int_gone', '--url', `http://127.0.0.1:${port}`, '--data-dir', dataDir]),
      (e: { stderr: string }) => /keyway: No integration int_gone\. \(not_found\)/.test(e.stderr));
  });

  test('`connect` with no server at --url says to start one or point --url at it', async () => {
    const port = await freePort(); // nothing listens there
    await assert.rejects(run(process.execPath, [CLI, 'connect', 'sandbox', '--url', `http://127.0.0.1:${port}`, '--data-dir', dataDir]),
      (e: { stderr: string }) => e.stderr === `keyway: Cannot reach Keyway at http://127.0.0.1:${port}. Is \`keyway serve\` running? Give its address with --url.\n`);
  });
});
