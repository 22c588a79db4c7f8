/**
 * Start-up refuses a master key that cannot be the one the stored data was encrypted with, and
 * never makes a new one for a folder that holds encrypted data: nothing is written under a wrong key.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/core/config.ts';
import { isKeywayError } from '../src/core/errors.ts';
import { startKeyway } from '../src/http/server.ts';
import { freePort, startTestKeyway } from './helpers/keyway.ts';

/** A data folder holding an encrypted client secret (so a data key exists), its server stopped. */
async function folderWithSecrets(): Promise<string> {
  const t = await startTestKeyway();
  const made = await t.api('POST', '/v1/integrations', { provider: 'github', clientId: 'gh-client', clientSecret: 'gh-secret-4a7c' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  await t.kw.close();
  return t.dataDir;
}

async function startOn(dataDir: string, env: Record<string, string>): Promise<unknown> {
  const full = { KEYWAY_SANDBOX: '0', KEYWAY_BACKGROUND_REFRESH: '0', KEYWAY_LOG_LEVEL: 'silent', ...env };
  const config = loadConfig(full, { port: String(await freePort()), host: '127.0.0.1', dataDir });
  try {
    const kw = await startKeyway({ config, env: full });
    await kw.close();
    return null;
  } catch (e) {
    return e;
  }
}

test('a KEYWAY_MASTER_KEY other than the data\'s stops start-up, naming both keys and what to set; nothing is written', async () => {
  const dataDir = await folderWithSecrets();
  try {
    const before = readFileSync(join(dataDir, 'keyway.db'));
    const e = await startOn(dataDir, { KEYWAY_MASTER_KEY: randomBytes(32).toString('base64') });
    assert.ok(isKeywayError(e, 'vault_error'), String(e));
    assert.match(e.message, /1 stored data key is wrapped under a master key that is not configured \(mk_\w+\); the active one, from KEYWAY_MASTER_KEY, is mk_\w+\. Keyway did not start.*Set KEYWAY_MASTER_KEY to the key this data was encrypted with/);
    assert.ok(readFileSync(join(dataDir, 'keyway.db')).equals(before), 'the database is as it was');
    assert.equal(await startOn(dataDir, {}), null, 'with its own key file it starts as before');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a folder with encrypted data and no master key: start-up stops saying to restore it, and makes no new key', async () => {
  const dataDir = await folderWithSecrets();
  try {
    unlinkSync(join(dataDir, 'master.key'));
    const e = await startOn(dataDir, {});
    assert.ok(isKeywayError(e, 'vault_error'), String(e));
    assert.match(e.message, /holds encrypted secrets, but no master key was found.*none was made\. Restore .*master\.key from your backup/);
    assert.equal(existsSync(join(dataDir, 'master.key')), false, 'no key was generated');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
