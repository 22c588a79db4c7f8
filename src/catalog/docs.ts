import { hooksFor } from './quirks/index.ts';
import type { ProviderDefinition } from './schema.ts';

/**
 * docs/providers.md, generated from the catalog: what each provider offers and how Keyway treats it.
 * Pure: definitions in, markdown out. `keyway docs providers > docs/providers.md` writes it, and a
 * test fails when a definition changed without the file being regenerated.
 */
export const DOCS_COMMAND = 'node src/cli/main.ts docs providers > docs/providers.md';

/** What a provider does differently, in sentences: its quirk module's notes, then the definition's. */
export function providerNotes(def: ProviderDefinition): string[] {
  return [...(hooksFor(def).notes ?? []), ...def.notes];
}

const code = (s: string): string => `\`${s.replaceAll('`', "'")}\``;
const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

function refreshLine(def: ProviderDefinition): string {
  const r = def.refresh;
  const kind = r.kind === 'rotating' ? 'rotating: each refresh returns a new refresh token and the used one stops working; Keyway always stores the latest'
    : r.kind === 'none' ? 'none: tokens are not refreshed' : 'reusable refresh tokens';
  const parts = [kind];
  if (r.refreshTokenLifetimeDays !== undefined) parts.push(`refresh tokens live ${r.refreshTokenLifetimeDays} days`);
  if (r.reuseGraceSeconds !== undefined) parts.push(`a used refresh token stays valid for ${r.reuseGraceSeconds / 60} minutes (a lost refresh answer is retried with it)`);
  return parts.join('; ');
}

function endpointLines(def: ProviderDefinition): string[] {
  const rows: Array<[string, string | undefined]> = [
    ['Issuer', def.issuer], ['Authorization', def.authorizationUrl], ['Token', def.tokenUrl],
    ['Revocation', def.revocationUrl], ['Device authorization', def.deviceAuthorizationUrl], ['PAR', def.parUrl],
  ];
  return rows.filter(([, v]) => v !== undefined).map(([k, v]) => `  - ${k}: ${code(v ?? '')}`);
}

function identityLine(def: ProviderDefinition): string | null {
  const id = def.identity;
  if (!id) return null;
  const fields = [id.subject ? `id ${code(id.subject)}` : null, id.label ? `name ${code(id.label)}` : null].filter(Boolean).join(', ');
  if (id.source === 'id_token') return `the OpenID Connect ID token (issuer + subject${id.label ? `; name ${code(id.label)}` : ''})`;
  if (id.source === 'userinfo') return `GET ${code(id.url ?? '')} (${fields})`;
  return `the token response (${fields})`;
}

function oauthLines(def: ProviderDefinition): string[] {
  const out: string[] = [];
  const s = def.scopes;
  out.push(`- **Scopes:** default ${s.default.length ? s.default.map(code).join(' ') : '(none)'}; separator ${s.separator === ' ' ? 'space' : code(s.separator)}${s.param !== 'scope' ? `; sent as ${code(s.param)}` : ''}`);
  if (s.available.length > 0) out.push(`  - available: ${s.available.map(code).join(' ')}`);
  const authParams = Object.entries(def.authParams);
  if (authParams.length > 0) out.push(`- **Authorization parameters:** ${authParams.map(([k, v]) => code(`${k}=${v}`)).join(', ')}`);
  const tokenParams = Object.entries(def.tokenParams);
  if (tokenParams.length > 0) out.push(`- **Token parameters:** ${tokenParams.map(([k, v]) => code(`${k}=${v}`)).join(', ')}`);
  out.push(`- **Client authentication:** ${code(def.clientAuth)} · **PKCE:** ${def.pkce.enabled ? 'S256' : `off: ${def.pkce.reason}`}`);
  out.push(`- **Refresh:** ${refreshLine(def)}`);
  return out;
}

function section(def: ProviderDefinition): string {
  const out: string[] = [`## ${def.name}`, ''];
  const head = [code(def.id), def.categories.join(', ') || null, def.docs ? `[provider docs](${def.docs})` : null].filter(Boolean);
  out.push(head.join(' · '), '');
  out.push(def.credential === 'oauth2' ? `- **Grants:** ${def.grants.join(', ')}` : `- **Credential:** ${def.credential} (no OAuth)`);
  const endpoints = endpointLines(def);
  if (endpoints.length > 0) out.push('- **Endpoints:**', ...endpoints);
  const params = Object.entries(def.connectionParams);
  if (params.length > 0) {
    out.push(`- **Connection params** (\`params\` in \`${def.credential === 'oauth2' ? 'POST /v1/connect-sessions' : 'POST /v1/connections'}\`):`);
    for (const [name, p] of params) {
      const extra = [p.example ? `e.g. ${code(p.example)}` : null, p.default ? `default ${code(p.default)}` : 'required', `pattern ${code(p.pattern)}`].filter(Boolean).join('; ');
      out.push(`  - ${code(name)}: ${p.label} (${extra})${p.help ? `. ${oneLine(p.help)}` : ''}`);
    }
  }
  if (def.credential === 'oauth2') out.push(...oauthLines(def));
  if (def.api.baseUrls.length > 0) {
    const inj = def.api.inject;
    const where = def.credential === 'basic' ? `header ${code(`${inj.in === 'header' ? inj.name : 'Authorization'}: Basic base64(<username>:<password>)`)}`
      : inj.in === 'header' ? `header ${code(`${inj.name}: ${inj.prefix}<${def.credential === 'api_key' ? 'API key' : 'token'}>`)}` : `query parameter ${code(inj.name)}`;
    out.push(`- **API:** ${def.api.baseUrls.map(code).join(', ')}; credential in ${where}`);
    const headers = Object.entries(def.api.headers);
    if (headers.length > 0) out.push(`  - every call also sends ${headers.map(([k, v]) => code(`${k}: ${v}`)).join(', ')}`);
  }
  const kept = Object.entries(def.keep);
  for (const [source, title] of [['token_response', 'the token response'], ['callback', 'the redirect back after consent']] as const) {
    const here = kept.filter(([, k]) => k.in === source);
    if (here.length === 0) continue;
    out.push(`- **Kept from ${title}:** ${here.map(([name, k]) => `${code(name)} from ${code(k.from)}${k.urlHostSuffixes ? ` (https only, host ending in ${k.urlHostSuffixes.map(code).join(', ')})` : ''}${k.pattern ? ` (must match ${code(k.pattern)})` : ''}`).join('; ')}`);
  }
  const identity = identityLine(def);
  if (identity) out.push(`- **Account identity:** ${identity}`);
  const notes = providerNotes(def);
  if (notes.length > 0) {
    out.push(`- **Quirks${def.quirks ? ` (${code(`src/catalog/quirks/${def.quirks}.ts`)})` : ''}:**`);
    for (const n of notes) out.push(`  - ${oneLine(n)}`);
  }
  if (def.setup) out.push('', `**Setup at the provider:** ${oneLine(def.setup)}`);
  const connect = connectLine(def);
  if (connect) out.push('', connect);
  return out.join('\n');
}

/** What to register at the provider (the redirect URI) or send to Keyway (a static credential). */
function connectLine(def: ProviderDefinition): string | null {
  const params = Object.keys(def.connectionParams);
  const withParams = params.length > 0 ? `, with ${code('params')} ${params.map(code).join(', ')}` : '';
  if (def.credential === 'api_key') return `**Connect:** ${code('POST /v1/connections')} ${code('{"integration": …, "type": "api_key", "apiKey": …}')}${withParams}.`;
  if (def.credential === 'basic') return `**Connect:** ${code('POST /v1/connections')} ${code('{"integration": …, "type": "basic", "username": …, "password": …}')}${withParams}.`;
  if (!def.grants.includes('authorization_code')) return null;
  return `**Redirect URI to register:** the integration's own ${code('redirectUri')}, ${code('{publicUrl}/oauth/callback/{integrationId}')}, returned by ${code('POST /v1/integrations')} and shown in the dashboard; then connect with ${code('POST /v1/connect-sessions')}${withParams}.`;
}

/** The whole page: an index table, then one section per provider, sorted by name. */
export function renderProvidersMarkdown(definitions: readonly ProviderDefinition[]): string {
  const defs = [...definitions].sort((a, b) => a.name.localeCompare(b.name));
  const lines = [
    '# Providers',
    '',
    `<!-- Generated from src/catalog/providers/*.yaml and src/catalog/quirks/. Do not edit: change the catalog and run \`${DOCS_COMMAND}\`. -->`,
    '',
    `Every provider Keyway knows (${defs.length}), as its catalog entry describes it. Use the id as \`provider\` in \`POST /v1/integrations\`; \`GET /v1/providers\` returns the same data.`,
    '',
    '| Provider | id | Categories | Grants | Refresh |',
    '|---|---|---|---|---|',
    ...defs.map((d) => `| ${d.name} | ${code(d.id)} | ${d.categories.join(', ')} | ${d.credential === 'oauth2' ? d.grants.join(', ') : d.credential} | ${d.credential === 'oauth2' ? d.refresh.kind : '-'} |`),
    '',
  ];
  return `${lines.join('\n')}\n${defs.map(section).join('\n\n')}\n`;
}
