import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { isKeywayError } from '../src/core/errors.ts';
import { loadMasterKeys, masterKeyId } from '../src/vault/index.ts';

const run = promisify(execFile);
const posix = process.platform !== 'win32';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-master-key-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function vaultError(pattern: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isKeywayError(e, 'vault_error'), `expected vault_error, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  };
}

test('first start generates a 0600 key file in a 0700 data dir, and a restart reuses it', async (t) => {
  const dataDir = join(await tempDir(t), '.keyway');
  const first = await loadMasterKeys({ dataDir, env: {} });
  assert.equal(first.source, 'generated');
  assert.equal(first.path, join(dataDir, 'master.key'));
  assert.match(first.active.kid, /^mk_[0-9a-f]{12}$/);
  assert.match(first.warnings.join('\n'), /Back it up/);
  const text = await readFile(join(dataDir, 'master.key'), 'utf8');
  assert.equal(Buffer.from(text.trim(), 'base64').length, 32);
  assert.equal(masterKeyId(Buffer.from(text.trim(), 'base64')), first.active.kid);
  assert.ok(!first.warnings.join('\n').includes(text.trim()), 'warnings never hold the key');
  if (posix) {
    assert.equal((await stat(join(dataDir, 'master.key'))).mode & 0o777, 0o600);
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
  }
  assert.deepEqual(await readdir(dataDir), ['master.key'], 'no temp file is left behind');

  const again = await loadMasterKeys({ dataDir, env: {} });
  assert.equal(again.source, 'file');
  assert.equal(again.active.kid, first.active.kid);
  assert.deepEqual(again.warnings, []);
});

test('KEYWAY_MASTER_KEY from the environment is used and no key file is created', async (t) => {
  const dataDir = join(await tempDir(t), '.keyway');
  const key = randomBytes(32);
  const keys = await loadMasterKeys({ dataDir, env: { KEYWAY_MASTER_KEY: `${key.toString('base64')}\n` } });
  assert.equal(keys.source, 'env');
  assert.equal(keys.path, undefined);
  assert.equal(keys.active.kid, masterKeyId(key));
  assert.deepEqual(keys.warnings, []);
  await assert.rejects(stat(dataDir), { code: 'ENOENT' });
});

test('a malformed KEYWAY_MASTER_KEY stops startup with a message that says how to make one', async (t) => {
  const dataDir = await tempDir(t);
  const cases: [string, RegExp][] = [
    [randomBytes(16).toString('base64'), /decodes to 16 bytes instead of 32/],
    [randomBytes(32).toString('hex'), /looks like hex/],
    ['not base64 at all!', /is not base64/],
    ['', /is set but empty|is empty/],
    ['   ', /is empty/],
  ];
  for (const [value, pattern] of cases) {
    await assert.rejects(loadMasterKeys({ dataDir, env: { KEYWAY_MASTER_KEY: value } }), (e: unknown) => {
      vaultError(pattern)(e);
      assert.match((e as Error).message, /openssl rand -base64 32/);
      if (value.trim() !== '') assert.ok(!(e as Error).message.includes(value), 'the bad value is not echoed');
      return true;
    });
  }
  assert.deepEqual(await readdir(dataDir), [], 'no key file is generated as a fall-back');
});

test('KEYWAY_PREVIOUS_MASTER_KEYS are accepted for unwrapping while the active key stays the current one', async (t) => {
  const dataDir = await tempDir(t);
  const [active, old1, old2] = [randomBytes(32), randomBytes(32), randomBytes(32)];
  const keys = await loadMasterKeys({
    dataDir,
    env: { KEYWAY_MASTER_KEY: active.toString('base64'), KEYWAY_PREVIOUS_MASTER_KEYS: ` ${old1.toString('base64')}, ${old2.toString('base64url')},` },
  });
  assert.equal(keys.active.kid, masterKeyId(active));
  assert.deepEqual([...keys.all.keys()], [active, old1, old2].map((k) => masterKeyId(k)));
  await assert.rejects(
    loadMasterKeys({ dataDir, env: { KEYWAY_MASTER_KEY: active.toString('base64'), KEYWAY_PREVIOUS_MASTER_KEYS: 'abc' } }),
    vaultError(/KEYWAY_PREVIOUS_MASTER_KEYS entry 1/),
  );
});

test('a key file others can read is still used, with a warning to chmod it', { skip: !posix }, async (t) => {
  const dataDir = await tempDir(t);
  const first = await loadMasterKeys({ dataDir, env: {} });
  await chmod(join(dataDir, 'master.key'), 0o644);
  const again = await loadMasterKeys({ dataDir, env: {} });
  assert.equal(again.active.kid, first.active.kid);
  assert.match(again.warnings.join('\n'), /mode 0644.*chmod 600/);
});

test('a corrupt key file stops startup and is left untouched', async (t) => {
  const dataDir = await tempDir(t);
  await writeFile(join(dataDir, 'master.key'), 'half a key\n', { mode: 0o600 });
  await assert.rejects(loadMasterKeys({ dataDir, env: {} }), vaultError(/master\.key is not base64.*Restore it from backup/));
  assert.equal(await readFile(join(dataDir, 'master.key'), 'utf8'), 'half a key\n');
});

test('an environment key beside an unrelated key file warns that the file is not used', async (t) => {
  const dataDir = await tempDir(t);
  const fromFile = await loadMasterKeys({ dataDir, env: {} });
  const key = randomBytes(32).toString('base64');
  const keys = await loadMasterKeys({ dataDir, env: { KEYWAY_MASTER_KEY: key } });
  assert.notEqual(keys.active.kid, fromFile.active.kid);
  assert.match(keys.warnings.join('\n'), /is not used.*KEYWAY_PREVIOUS_MASTER_KEYS/);
  const fileKey = (await readFile(join(dataDir, 'master.key'), 'utf8')).trim();
  const listed = await loadMasterKeys({ dataDir, env: { KEYWAY_MASTER_KEY: key, KEYWAY_PREVIOUS_MASTER_KEYS: fileKey } });
  assert.deepEqual(listed.warnings, []);
});

test('two loads racing in one empty data dir end up with the same key', async (t) => {
  const dataDir = join(await tempDir(t), 'fresh');
  const loads = await Promise.all(Array.from({ length: 8 }, () => loadMasterKeys({ dataDir, env: {} })));
  assert.equal(new Set(loads.map((k) => k.active.kid)).size, 1);
  assert.equal(loads.filter((k) => k.source === 'generated').length, 1);
  assert.deepEqual(await readdir(dataDir), ['master.key']);
});

test('separate processes starting together in one empty data dir agree on one key', async (t) => {
  const dataDir = join(await tempDir(t), 'fresh');
  const moduleUrl = pathToFileURL(join(import.meta.dirname, '../src/vault/master-key.ts')).href;
  const script = `const { loadMasterKeys } = await import(${JSON.stringify(moduleUrl)});
    const keys = await loadMasterKeys({ dataDir: ${JSON.stringify(dataDir)}, env: {} });
    process.stdout.write(keys.active.kid);`;
  const runs = await Promise.all(Array.from({ length: 4 }, () =>
    run(process.execPath, ['--no-warnings', '--input-type=module', '-e', script])));
  const kids = runs.map((r) => r.stdout.trim());
  assert.equal(new Set(kids).size, 1, kids.join(' '));
  assert.equal((await loadMasterKeys({ dataDir, env: {} })).active.kid, kids[0]);
});
