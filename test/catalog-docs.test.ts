import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BUILTIN_PROVIDERS_DIR, DOCS_COMMAND, loadDefinitionsFromDir, renderProvidersMarkdown } from '../src/catalog/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const committed = (): string => readFileSync(new URL('../docs/providers.md', import.meta.url), 'utf8');

test('docs/providers.md is generated from the current catalog (regenerate it after editing a definition)', () => {
  const expected = renderProvidersMarkdown(loadDefinitionsFromDir(BUILTIN_PROVIDERS_DIR));
  assert.ok(committed() === expected, `docs/providers.md is out of date with src/catalog/providers/. Run: ${DOCS_COMMAND}`);
});

test('`keyway docs providers` prints exactly that page', () => {
  const out = execFileSync(process.execPath, ['src/cli/main.ts', 'docs', 'providers'], { cwd: root, encoding: 'utf8' });
  assert.equal(out, committed());
});

test('each provider\'s section shows its grants, scopes, quirks, setup steps and connection params', () => {
  const md = committed();
  const section = (name: string): string => {
    const start = md.indexOf(`\n## ${name}\n`);
    assert.ok(start >= 0, name);
    const end = md.indexOf('\n## ', start + 1);
    return md.slice(start, end === -1 ? undefined : end);
  };
  const zendesk = section('Zendesk');
  assert.match(zendesk, /\*\*Grants:\*\* authorization_code/);
  assert.match(zendesk, /`subdomain`: Zendesk subdomain \(e\.g\. `acme`; required/);
  assert.match(zendesk, /\*\*Setup at the provider:\*\* Zendesk Admin Center/);
  const github = section('GitHub');
  assert.match(github, /authorization_code, device_code/);
  assert.match(github, /\*\*Quirks \(`src\/catalog\/quirks\/github\.ts`\):\*\*/);
  assert.match(github, /HTTP 200/);
  assert.match(section('Google'), /`access_type=offline`, `prompt=consent`/);
  assert.match(section('Shopify'), /header `X-Shopify-Access-Token: <token>`/);
  assert.match(section('Xero'), /stays valid for 30 minutes/);
  assert.match(section('Slack (user token)'), /sent as `user_scope`/);
});

test('every provider has a section with its setup steps, and the redirect URI to register or the credential to send', () => {
  const md = committed();
  const defs = loadDefinitionsFromDir(BUILTIN_PROVIDERS_DIR);
  assert.match(md, new RegExp(`Every provider Keyway knows \\(${defs.length}\\)`));
  for (const def of defs) {
    const start = md.indexOf(`\n## ${def.name}\n`);
    assert.ok(start >= 0, `${def.id}: no section`);
    const end = md.indexOf('\n## ', start + 1);
    const section = md.slice(start, end === -1 ? undefined : end);
    assert.ok(section.includes(`\`${def.id}\``), `${def.id}: id`);
    assert.match(section, /\*\*Setup at the provider:\*\* \S/, `${def.id}: setup steps`);
    if (def.credential === 'oauth2') {
      assert.match(section, /\*\*Redirect URI to register:\*\* the integration's own `redirectUri`, `\{publicUrl\}\/oauth\/callback\/\{integrationId\}`/, `${def.id}: redirect URI`);
    } else {
      assert.ok(section.includes(`"type": "${def.credential}"`), `${def.id}: the connection body`);
    }
    for (const name of Object.keys(def.connectionParams)) assert.ok(section.includes(`\`${name}\``), `${def.id}: param ${name}`);
  }
});
