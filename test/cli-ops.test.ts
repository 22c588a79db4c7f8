/** `keyway migrate` and `keyway doctor`: what an operator sees when things are right and when not. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { doctor } from '../src/cli/doctor.ts';
import { loadConfig } from '../src/core/config.ts';
import { startTestKeyway } from './helpers/keyway.ts';
import { MIGRATIONS } from '../src/store/sql/migrations.ts';

const ALL = MIGRATIONS.map((m) => m.id).join(', ');
import { postgresUnavailable, startTestPostgres } from './helpers/postgres.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('keyway migrate and doctor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyway-ops-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('doctor on an empty data folder fails and says to migrate; migrate applies every migration once', async () => {
    const data = join(dir, 'fresh');
    const before = await cli(['doctor', '--data-dir', data]);
    assert.equal(before.code, 1);
    assert.match(before.stdout, /FAIL\s+database: no database at .*keyway migrate/);
    const first = await cli(['migrate', '--data-dir', data]);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(first.stdout.includes(`Applied migrations ${ALL} (sqlite)`), first.stdout);
    const again = await cli(['migrate', '--data-dir', data]);
    assert.match(again.stdout, /up to date/);
    const noKey = await cli(['doctor', '--data-dir', data], { KEYWAY_MASTER_KEY: '' });
    assert.equal(noKey.code, 1);
    assert.match(noKey.stdout, /ok\s+schema: migrations up to \d+ applied/);
  });

  test('doctor checks the master key against stored secrets, the clock against providers, and each token endpoint', async () => {
    const skewed = createServer((_req, res) => {
      res.writeHead(400, { date: new Date(Date.now() + 10 * 60_000).toUTCString(), 'content-type': 'application/json' }).end('{"error":"invalid_request"}');
    });
    await new Promise<void>((r) => skewed.listen(0, '127.0.0.1', r));
    const port = (skewed.address() as AddressInfo).port;
    const t = await startTestKeyway();
    try {
      const made = await t.api('POST', '/v1/integrations', {
        provider: 'custom', name: 'Skewed', clientId: 'c', clientSecret: 'doctor-secret-1',
        authorizationUrl: `http://127.0.0.1:${port}/authorize`, tokenUrl: `http://127.0.0.1:${port}/token`,
      });
      assert.equal(made.status, 201);
      await t.api('POST', '/v1/integrations', {
        provider: 'custom', name: 'Gone', clientId: 'c', clientSecret: 'doctor-secret-2',
        authorizationUrl: 'http://127.0.0.1:1/authorize', tokenUrl: 'http://127.0.0.1:1/token',
      });
      const config = loadConfig({ KEYWAY_DEV: '1' }, { dataDir: t.dataDir });
      const checks = await doctor(config, {});
      const by = (name: string) => checks.find((c) => c.name === name);
      assert.equal(by('database')?.ok, true);
      assert.equal(by('master key')?.ok, true);
      assert.match(by('master key')?.detail ?? '', /decrypts stored secrets/);
      assert.equal(by('provider Skewed')?.ok, true);
      assert.match(by('provider Skewed')?.detail ?? '', /answered HTTP 400/);
      assert.equal(by('provider Gone')?.ok, false);
      assert.match(by('provider Gone')?.detail ?? '', /unreachable/);
      assert.equal(by('clock')?.ok, false);
      assert.match(by('clock')?.detail ?? '', /off the providers' clocks; run NTP/);

      const wrong = await doctor(config, { KEYWAY_MASTER_KEY: randomBytes(32).toString('base64') });
      const mk = wrong.find((c) => c.name === 'master key');
      assert.equal(mk?.ok, false);
      assert.match(mk?.detail ?? '', /does not match what the data was encrypted with/);
      assert.ok(!JSON.stringify(checks).includes('doctor-secret'), 'no secret in the report');
    } finally {
      await t.close();
      await new Promise<void>((r) => skewed.close(() => r()));
    }
  });

  test('on PostgreSQL: doctor reports an unmigrated schema; keyway migrate fixes it', { skip: postgresUnavailable() ?? false }, async () => {
    const pgs = await startTestPostgres();
    try {
      const url = await pgs.newDatabase();
      const env = { KEYWAY_DATABASE_URL: url, KEYWAY_MASTER_KEY: randomBytes(32).toString('base64') };
      const before = await cli(['doctor', '--data-dir', join(dir, 'pg')], env);
      assert.equal(before.code, 1);
      assert.match(before.stdout, /ok\s+database: postgres reachable/);
      assert.match(before.stdout, /FAIL\s+schema: migrations .* not applied; run `keyway migrate`/);
      assert.ok(before.stdout.includes(`migrations ${ALL} not applied`));
      assert.ok(!before.stdout.includes(url), 'the database URL is not printed');
      const m = await cli(['migrate', '--data-dir', join(dir, 'pg')], env);
      assert.ok(m.stdout.includes(`Applied migrations ${ALL} (postgres)`), m.stdout);
      const afterDoc = await cli(['doctor', '--data-dir', join(dir, 'pg')], env);
      assert.match(afterDoc.stdout, /ok\s+schema/);
    } finally {
      await pgs.close();
    }
  });
});
