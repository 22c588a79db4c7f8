import { type Html, html, query, when } from '../html.ts';
import type { Json } from '../api.ts';

export const AUDIT_FILTERS = ['integration', 'connection', 'actor', 'action', 'since', 'until'] as const;
export type AuditFilters = Partial<Record<(typeof AUDIT_FILTERS)[number], string>>;

const LABELS: Record<(typeof AUDIT_FILTERS)[number], string> = {
  integration: 'Integration id', connection: 'Connection id', actor: 'Member or key id', action: 'Action (e.g. connection.connect)',
  since: 'Since (ISO time)', until: 'Until (ISO time)',
};

export function auditPage(entries: Json[], nextCursor: string | null, filters: AuditFilters): Html {
  const inputs = AUDIT_FILTERS.map((f) => html`<p class="field"><label for="a-${f}">${LABELS[f]}</label>
<input id="a-${f}" name="${f}" value="${filters[f] ?? ''}" autocomplete="off"></p>`);
  const rows = entries.map((e) => html`<tr><td>${when(e.at, { seconds: true })}</td><td>${e.action}${typeof e.detail?.count === 'number' ? ` ×${e.detail.count}` : ''}</td><td class="${e.outcome === 'ok' ? '' : 'err'}">${e.outcome}</td>
<td>${e.actor?.type}${e.actor?.id ? ` ${e.actor.id}` : ''}</td><td>${e.integration ?? ''}</td><td>${e.connection ?? ''}</td>
<td><code class="detail">${JSON.stringify(e.detail ?? {})}</code></td></tr>`);
  return html`<h1>Audit log</h1>
<form method="get" action="/audit" class="filters">${inputs}<p><button type="submit">Filter</button> <a href="/audit">Clear</a></p></form>
<div class="table"><table><caption>Newest first</caption><thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Outcome</th><th scope="col">Who</th><th scope="col">Integration</th><th scope="col">Connection</th><th scope="col">Detail</th></tr></thead>
<tbody>${rows}</tbody></table></div>
${entries.length === 0 ? html`<p>No entries match.</p>` : ''}
${nextCursor ? html`<nav class="pager" aria-label="Pages"><a href="/audit${query({ ...filters, cursor: nextCursor })}">Older entries</a></nav>` : ''}`;
}
