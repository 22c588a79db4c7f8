/**
 * `npm run build:sdk [-- --out DIR]`: the SDK (src/sdk) compiled to JavaScript with type
 * declarations, as a package of its own (`@keyway/sdk`, default in dist/sdk), for apps that do not
 * run TypeScript: `npm install /path/to/keyway/dist/sdk`. Node runs src/sdk as it is only outside
 * `node_modules` (it does not strip types there), hence this build.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'dist', 'sdk') } } });
const out = resolve(values.out ?? '');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.sdk.json'), '--outDir', out], { stdio: 'inherit' });
writeFileSync(join(out, 'package.json'), `${JSON.stringify({
  name: '@keyway/sdk', version, description: 'Keyway\'s TypeScript SDK: the REST API and the gateway, on fetch alone',
  type: 'module', engines: { node: '>=20' },
  exports: { '.': { types: './index.d.ts', default: './index.js' } },
}, null, 2)}\n`);
process.stdout.write(`Built the SDK into ${out}\n`);
