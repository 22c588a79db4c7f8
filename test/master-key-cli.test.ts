/**
 * `keyway master-key status | rewrap | generate`: rotating the master key from the command line,
 * on a data folder written by a real `keyway serve`. The secrets stay readable throughout and the
 * old key can be dropped once every data key is under the new one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rmSync } from 'node:fs';
import { cryptoRandom, systemClock } from '../src/core/index.ts';
import { openSqliteStore } from '../src/store/index.ts';
import { createVault, loadMasterKeys, masterKeyId } from '../src/vault/index.ts';
import { call, spawnKeyway } from './helpers/processes.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const CLIENT_SECRET = 'client-secret-kept-through-rotation-5e1';

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = { ...process.env };
  delete clean['KEYWAY_MASTER_KEY'];
  delete clean['KEYWAY_PREVIOUS_MASTER_KEYS'];
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...clean, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** The integration's client secret, read back with only `key` configured. */
async function clientSecretWith(dataDir: string, key: string, orgAndId: { orgId: string; id: string }): Promise<string> {
  const store = openSqliteStore(join(dataDir, 'keyway.db'));
  try {
    const masterKeys = await loadMasterKeys({ dataDir, env: { KEYWAY_MASTER_KEY: key } });
    const vault = createVault({ masterKeys, dataKeys: store.dataKeys, random: cryptoRandom, clock: systemClock });
    const rec = await store.integrations.get(orgAndId.orgId, orgAndId.id);
    return await vault.decrypt({ orgId: orgAndId.orgId, recordId: orgAndId.id, field: 'client_secret' }, rec!.clientSecretEnc!);
  } finally {
    await store.close();
  }
}

test('a master key rotated with status and rewrap: secrets stay readable, the old key can then be dropped', async () => {
  const oldKey = randomBytes(32).toString('base64');
  const generated = await cli(['master-key', 'generate'], {});
  assert.equal(generated.code, 0, generated.stderr);
  const newKey = generated.stdout.trim();
  assert.equal(Buffer.from(newKey, 'base64').length, 32);
  assert.notEqual(newKey, (await cli(['master-key', 'generate'], {})).stdout.trim(), 'a new key each time');
  const [oldKid, newKid] = [oldKey, newKey].map((k) => masterKeyId(Buffer.from(k, 'base64')));

  // A secret stored under the old key by a real server.
  const kw = await spawnKeyway({ KEYWAY_MASTER_KEY: oldKey });
  let integration: { orgId: string; id: string };
  try {
    const made = await call(kw.url, kw.bootstrapKey(), 'POST', '/v1/integrations', {
      provider: 'custom', name: 'Rotated', clientId: 'rot', clientSecret: CLIENT_SECRET,
      authorizationUrl: 'http://127.0.0.1:9/authorize', tokenUrl: 'http://127.0.0.1:9/token', // nothing listens: never called here
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    integration = { orgId: made.body.orgId ?? (await call(kw.url, kw.bootstrapKey(), 'GET', '/v1/me')).body.org.id, id: made.body.id };
  } finally {
    await kw.kill('SIGTERM', { keepData: true });
  }
  const dir = ['--data-dir', kw.dataDir];
  try {
    // With only the new key: the data keys under the old one are named, and nothing can be re-wrapped.
    const lost = await cli(['master-key', 'status', ...dir], { KEYWAY_MASTER_KEY: newKey });
    assert.equal(lost.code, 1);
    assert.match(lost.stdout, new RegExp(`Active master key: ${newKid} \\(from KEYWAY_MASTER_KEY\\)`));
    assert.match(lost.stdout, new RegExp(`${oldKid}\\s+NOT CONFIGURED\\s+1 data key\\n`));
    assert.match(lost.stdout, /cannot be decrypted\. Add that key to KEYWAY_PREVIOUS_MASTER_KEYS, then run `keyway master-key rewrap`/);
    const refused = await cli(['master-key', 'rewrap', ...dir], { KEYWAY_MASTER_KEY: newKey });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`not configured \\(${oldKid}\\)`));
    const doctorLost = await cli(['doctor', ...dir], { KEYWAY_MASTER_KEY: newKey });
    assert.match(doctorLost.stdout, new RegExp(`FAIL\\s+master key: 1 data key is wrapped under a master key that is not configured \\(${oldKid}\\), so the secrets under it cannot be decrypted\\.`));

    // During the rotation: new key active, old one previous.
    const during = { KEYWAY_MASTER_KEY: newKey, KEYWAY_PREVIOUS_MASTER_KEYS: oldKey };
    const before = await cli(['master-key', 'status', ...dir], during);
    assert.equal(before.code, 0, before.stdout + before.stderr);
    assert.match(before.stdout, new RegExp(`${oldKid}\\s+KEYWAY_PREVIOUS_MASTER_KEYS\\s+1 data key\\n`));
    assert.match(before.stdout, /run `keyway master-key rewrap` before removing it/);
    const doctorDuring = await cli(['doctor', ...dir], during);
    assert.match(doctorDuring.stdout, /ok\s+master key: loaded from env; decrypts stored secrets; 1 data key is still under an older master key: run `keyway master-key rewrap` to finish the rotation/);
    const rewrapped = await cli(['master-key', 'rewrap', ...dir], during);
    assert.equal(rewrapped.code, 0, rewrapped.stderr);
    assert.match(rewrapped.stdout, new RegExp(`Re-wrapped 1 data key under the active master key ${newKid}\\.`));
    assert.match(rewrapped.stdout, /No data key is under the older keys: they can be removed from KEYWAY_PREVIOUS_MASTER_KEYS\./);
    const again = await cli(['master-key', 'rewrap', ...dir], during);
    assert.match(again.stdout, /Every data key was already under the active master key/);

    // After: the new key alone reads the secret; the old key alone no longer does.
    const after = await cli(['master-key', 'status', ...dir], { KEYWAY_MASTER_KEY: newKey });
    assert.equal(after.code, 0);
    assert.match(after.stdout, new RegExp(`${newKid}\\s+active\\s+1 data key\\n`));
    const doctorAfter = await cli(['doctor', ...dir], { KEYWAY_MASTER_KEY: newKey });
    assert.match(doctorAfter.stdout, /ok\s+master key: loaded from env; decrypts stored secrets\n/);
    assert.equal(await clientSecretWith(kw.dataDir, newKey, integration), CLIENT_SECRET);
    await assert.rejects(clientSecretWith(kw.dataDir, oldKey, integration), /not configured/);
    for (const r of [lost, refused, doctorLost, before, doctorDuring, rewrapped, again, after, doctorAfter]) {
      for (const secret of [oldKey, newKey, CLIENT_SECRET]) assert.ok(!(r.stdout + r.stderr).includes(secret), 'no key or secret is printed');
    }
  } finally {
    rmSync(kw.dataDir, { recursive: true, force: true });
  }
});

test('master-key commands never make a key as a side effect, and say what to pass', async () => {
  const kw = await spawnKeyway({});
  await kw.kill('SIGTERM', { keepData: true });
  try {
    rmSync(join(kw.dataDir, 'master.key'));
    const none = await cli(['master-key', 'status', '--data-dir', kw.dataDir], {});
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /No master key: KEYWAY_MASTER_KEY is not set and there is no .*master\.key\. Set the key the data was stored with\./);
    const usage = await cli(['master-key', 'rotate'], {});
    assert.match(usage.stderr, /Usage: keyway master-key status/);
    const nowhere = await cli(['master-key', 'status', '--data-dir', join(kw.dataDir, 'missing')], { KEYWAY_MASTER_KEY: randomBytes(32).toString('base64') });
    assert.match(nowhere.stderr, /No Keyway data in .*missing\. Pass --data-dir/);
  } finally {
    rmSync(kw.dataDir, { recursive: true, force: true });
  }
});
