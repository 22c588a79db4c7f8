/**
 * The SDK as an app outside this repository gets it: `npm run build:sdk` compiled to JavaScript with
 * declarations, installed under an app's `node_modules` (where Node strips no types), imported by plain
 * JavaScript and type-checked by a TypeScript app, against a running Keyway.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const sdkDir = join(root, 'src', 'sdk');

let t: TestKeyway;
let app: string;
before(async () => {
  t = await startTestKeyway();
  app = mkdtempSync(join(tmpdir(), 'keyway-sdk-app-'));
  await run(process.execPath, [join(root, 'scripts', 'build-sdk.ts'), '--out', join(app, 'node_modules', '@keyway', 'sdk')]);
});
after(async () => {
  await t.close();
  rmSync(app, { recursive: true, force: true });
});

test('the SDK imports nothing but its own files: an app can take it alone', () => {
  for (const file of readdirSync(sdkDir)) {
    const text = readFileSync(join(sdkDir, file), 'utf8');
    for (const [, spec] of text.matchAll(/^(?:import|export)\b[^\n]*\bfrom\s+'([^']+)'/gm)) {
      assert.ok(spec?.startsWith('./') && !spec.slice(2).includes('/'), `${file} imports ${spec}`);
    }
  }
});

test('built: plain JavaScript in another app imports @keyway/sdk from node_modules and calls Keyway', async () => {
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'some-app', private: true, type: 'module' }));
  writeFileSync(join(app, 'main.js'), `
    import { Keyway, KeywayApiError } from '@keyway/sdk';
    const keyway = new Keyway({ url: process.env.KEYWAY_URL, apiKey: process.env.KEYWAY_API_KEY });
    const integrations = await keyway.integrations.list();
    const missing = await keyway.connections.get('conn_nope').catch((e) => e);
    console.log(JSON.stringify({ integrations: integrations.data.length, error: missing instanceof KeywayApiError ? missing.code : String(missing) }));
  `);
  const { stdout } = await run(process.execPath, ['main.js'], { cwd: app, env: { ...process.env, KEYWAY_URL: t.kw.url, KEYWAY_API_KEY: t.apiKey } });
  assert.deepEqual(JSON.parse(stdout), { integrations: 0, error: 'not_found' });
});

test('built: its declarations type-check a strict TypeScript app, and catch a wrong call', async () => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', '--skipLibCheck', 'false'];
  mkdirSync(join(app, 'src'), { recursive: true });
  writeFileSync(join(app, 'src', 'good.ts'), `
    import { Keyway, type Connection } from '@keyway/sdk';
    const keyway = new Keyway({ url: 'http://127.0.0.1:3030', apiKey: 'kw_x' });
    export async function names(): Promise<string[]> {
      const page = await keyway.connections.list({ status: 'active', limit: 10 });
      const res = await keyway.proxy('conn_1', 'me', { query: { a: 1 } });
      return [...page.data.map((c: Connection) => c.name), String(res.status)];
    }
  `);
  await run(process.execPath, [tsc, ...flags, join(app, 'src', 'good.ts')], { cwd: app });
  writeFileSync(join(app, 'src', 'bad.ts'), `
    import { Keyway } from '@keyway/sdk';
    const keyway = new Keyway({ url: 'http://127.0.0.1:3030', apiKey: 'kw_x' });
    export const p = keyway.connections.list({ status: 'green' });
  `);
  const bad = await run(process.execPath, [tsc, ...flags, join(app, 'src', 'bad.ts')], { cwd: app }).then(() => null, (e: { stdout: string }) => e.stdout);
  assert.match(bad ?? 'compiled without error', /"green"/);
});
