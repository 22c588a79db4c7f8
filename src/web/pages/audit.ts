import { type Html, html, query, when } from '../html.ts';
import type { Json } from '../api.ts';

export const AUDIT_FILTERS = ['integration', 'connection', 'actor', 'action', 'since', 'until'] as const;
export type AuditFilters = Partial<Record<(typeof AUDIT_FILTERS)[number], string>>;

const LABELS: Record<(typeof AUDIT_FILTERS)[number], string> = {
  integration: 'Integration id', connection: 'Connection id', actor: 'Member or key id', action: 'Action (e.g. connection.connect)',
  since: 'Since (UTC, e.g. 2026-11-24 05:27)', until: 'Until (UTC, e.g. 2026-11-24)',
};

/**
 * A time filter as the API takes it (ISO 8601): also as the page shows times — `2026-11-24 05:27`,
 * with seconds, with " UTC", or a day alone (its start). Anything else is passed on for the API to refuse.
 */
export function auditTime(value: string): string {
  const m = /^(\d{4}-\d\d-\d\d)(?:[ T](\d\d:\d\d)(:\d\d(?:\.\d+)?)?)?(?: ?(?:UTC|Z))?$/i.exec(value.trim());
  if (!m) return value;
  const iso = `${m[1]}T${m[2] ?? '00:00'}${m[3] ?? ':00'}Z`;
  return Number.isNaN(Date.parse(iso)) ? value : iso;
}

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
