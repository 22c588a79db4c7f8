import { type Html, html, query } from '../html.ts';
import type { Json } from '../api.ts';

export interface AddInput {
  providers: Json[];
  categories: string[];
  search: string | undefined;
  category: string | undefined;
  chosen: Json | null;
  publicUrl: string;
}

function field(name: string, labelText: string, opts: { type?: string; value?: string; required?: boolean; help?: string } = {}): Html {
  const id = `f-${name}`;
  return html`<p class="field"><label for="${id}">${labelText}</label>
<input id="${id}" name="${name}" type="${opts.type ?? 'text'}" value="${opts.value ?? ''}"${opts.required ? html` required` : ''} autocomplete="off">
${opts.help ? html`<span class="small">${opts.help}</span>` : ''}</p>`;
}

function redirectNote(publicUrl: string): Html {
  return html`<p class="small">Each integration gets its own redirect URI, <code>${publicUrl}/oauth/callback/{integration id}</code>;
it is shown (with a copy button) as soon as the integration is added. Register it at the provider before connecting.</p>`;
}

function providerForm(p: Json, publicUrl: string): Html {
  const custom = p.id === 'custom';
  return html`<h2>${custom ? 'Custom OAuth' : `Set up ${p.name}`}</h2>
${p.setup ? html`<div class="setup"><h3>Setup steps</h3><p>${p.setup}</p></div>` : ''}
${p.docs ? html`<p class="small">Provider documentation: <a href="${p.docs}" rel="noreferrer noopener" target="_blank">${p.docs}</a></p>` : ''}
${redirectNote(publicUrl)}
<form data-api="POST /v1/integrations" data-result="integration">
<input type="hidden" name="provider" value="${p.id}">
${field('name', 'Name (optional)', { value: custom ? '' : p.name })}
${custom ? html`${field('issuer', 'Issuer URL (OIDC / RFC 8414 discovery) — or give the two URLs below')}
${field('authorizationUrl', 'Authorization URL')}${field('tokenUrl', 'Token URL')}` : ''}
${field('clientId', 'Client ID', { required: true })}
${field('clientSecret', 'Client secret', { type: 'password' })}
${field('scopes', 'Scopes (separated by spaces)', { value: (p.scopes?.default ?? []).join(' ') })}
${custom ? html`<p class="field"><label><input type="checkbox" name="pushedAuthorization" data-only-checked> Push authorization requests first (PAR, RFC 9126)</label>
<span class="small">The browser then carries only a reference to the request. Unchecked, Keyway pushes only when the provider says it must. Needs the issuer URL, so Keyway can find the PAR endpoint.</span></p>` : ''}
<p><button type="submit" class="primary">Add integration</button></p>
</form><div class="result" data-result-for="integration" role="status"></div>`;
}

export function addIntegrationPage(a: AddInput): Html {
  if (a.chosen) return html`<p><a href="/integrations/new">← All providers</a></p>${providerForm(a.chosen, a.publicUrl)}`;
  const cats = a.categories.map((c) => html`<option value="${c}"${a.category === c ? html` selected` : ''}>${c}</option>`);
  const list = a.providers.filter((p) => p.id !== 'custom').map((p) => html`<li><a href="/integrations/new${query({ provider: p.id })}">${p.name}</a>
<span class="small">${(p.categories ?? []).join(', ')}</span></li>`);
  return html`<h1>Add integration</h1>
<form method="get" action="/integrations/new" class="filters" role="search">
<p class="field"><label for="search">Search providers</label><input id="search" name="search" type="search" value="${a.search ?? ''}"></p>
<p class="field"><label for="category">Category</label><select id="category" name="category"><option value="">All</option>${cats}</select></p>
<p><button type="submit">Search</button></p></form>
<p><a class="button" href="/integrations/new?provider=custom">Custom OAuth provider</a> — any OAuth 2 provider by its URLs or issuer.</p>
${list.length ? html`<ul class="providers">${list}</ul>` : html`<p>No provider matches. Try another search, or use Custom OAuth.</p>`}`;
}

/** What a member (not an owner or admin) meets at a page only owners and admins may use: why, and what instead. */
export function notForMembersPage(title: string, what: string): Html {
  return html`<h1>${title}</h1>
<p>Only owners and admins can ${what}; your role is member. Ask an owner or admin of your organization (see <a href="/members">Members</a>).</p>`;
}
