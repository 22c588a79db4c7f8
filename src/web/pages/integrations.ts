import { type Html, html, query } from '../html.ts';
import type { Json } from '../api.ts';
import { statusView } from '../status.ts';

/** How a connection is named in a list: its name, else the provider account, else its id. */
function label(c: Json): string {
  return String(c.name ?? c.account?.label ?? c.account?.subject ?? c.id);
}

function shareControl(c: Json): Html {
  if (!c.access?.canChangeSharing) {
    return html`<span class="small">${c.sharing === 'shared' ? `Shared with the team (${c.shareLevel})` : 'Personal'}</span>`;
  }
  const current = c.sharing === 'shared' ? `shared:${c.shareLevel}` : 'personal';
  const opt = (value: string, text: string) => html`<option value="${value}"${current === value ? html` selected` : ''}>${text}</option>`;
  const id = `share-${c.id}`;
  return html`<span class="share"><label for="${id}">Sharing</label>
<select id="${id}" data-share-select>${opt('personal', 'Personal (only me)')}${opt('shared:use', 'Team can use')}${opt('shared:manage', 'Team can use and manage')}</select>
<button type="button" data-action="share" data-connection="${c.id}">Save sharing</button></span>`;
}

/** One connection: status colour and text, what to do, and the buttons the caller may use. */
export function connectionItem(c: Json): Html {
  const canManage = Boolean(c.access?.canManage);
  const oauth = c.type === 'oauth2';
  const s = statusView(String(c.status), oauth && canManage);
  return html`<li class="conn" id="${c.id}" data-connection="${c.id}" data-status="${c.status}">
<div class="conn-head"><span class="badge ${s.className}">${s.label}</span> <strong>${label(c)}</strong>
<span class="small">${c.owner ? `by ${c.owner.name}` : ''}${c.owner?.formerMember ? ' (former member)' : ''}</span></div>
${c.status !== 'active' && c.statusReason ? html`<p class="reason">${c.statusReason}</p>` : ''}
${s.advice ? html`<p class="advice">${s.advice}</p>` : ''}
${c.scopeNote ? html`<p class="small">${c.scopeNote}</p>` : ''}
${c.ownerNote ? html`<p class="small">${c.ownerNote}</p>` : ''}
<div class="actions">
${oauth || c.type === 'client_credentials' ? html`<button type="button" data-action="refresh" data-connection="${c.id}">Refresh</button>` : ''}
${oauth && canManage ? html`<button type="button" data-action="reauth" data-connection="${c.id}">Re-authenticate</button>` : ''}
${canManage ? html`<button type="button" class="danger" data-action="disconnect" data-connection="${c.id}" data-name="${label(c)}">Disconnect</button>` : ''}
${shareControl(c)}
</div></li>`;
}

function integrationSection(i: Json, conns: Json[]): Html {
  return html`<section class="integration" id="${i.id}" aria-labelledby="h-${i.id}">
<div class="int-head"><h2 id="h-${i.id}">${i.name}</h2>
<button type="button" class="primary" data-action="connect" data-integration="${i.id}">Connect</button></div>
<p class="small">Provider <code>${i.provider}</code> · Redirect URI <code>${i.redirectUri}</code>
<button type="button" class="link" data-copy="${i.redirectUri}">Copy</button></p>
<div class="connect-note" data-note-for="${i.id}"></div>
<ul class="connections" data-integration="${i.id}">${conns.map(connectionItem)}</ul>
${conns.length === 0 ? html`<p class="small empty" data-empty-for="${i.id}">No connections on this page yet.</p>` : ''}
</section>`;
}

/** Integrations with the connections on this page (a page of connections, in the API's order). */
export function integrationsPage(integrations: Json[], connections: Json[], nextCursor: string | null, cursor: string | undefined, canAdd = true): Html {
  if (integrations.length === 0) {
    return html`<h1>Integrations</h1><p>No integrations yet. ${canAdd ? html`<a href="/integrations/new">Add one</a>.` : 'An owner or admin of your organization can add one.'}</p>`;
  }
  const byIntegration = new Map<string, Json[]>();
  for (const c of connections) byIntegration.set(c.integration, [...(byIntegration.get(c.integration) ?? []), c]);
  return html`<h1>Integrations</h1>
<p class="small">Green: active. Amber: refresh failing (still working, Keyway retries). Red: needs re-authentication.</p>
${integrations.map((i) => integrationSection(i, byIntegration.get(i.id) ?? []))}
<nav class="pager" aria-label="Pages">${cursor ? html`<a href="/integrations">First page</a>` : ''}
${nextCursor ? html`<a href="/integrations${query({ cursor: nextCursor })}">Next page of connections</a>` : ''}</nav>`;
}
