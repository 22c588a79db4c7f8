import { type Html, html, query } from '../html.ts';
import type { Json } from '../api.ts';

/** When a key stops working: never, its date, or its date marked expired (`now` from Keyway's clock). */
function expiry(expiresAt: string | null, now: number): Html | string {
  if (expiresAt === null) return 'never';
  return Date.parse(expiresAt) <= now ? html`<strong>Expired</strong> ${expiresAt}` : expiresAt;
}

export function keysPage(keys: Json[], nextCursor: string | null, now: number): Html {
  const rows = keys.map((k) => html`<tr id="${k.id}"><td>${k.name}</td><td><code>${k.prefix}…</code></td>
<td>${k.createdAt}</td><td>${k.lastUsedAt ?? 'never'}</td><td>${expiry(k.expiresAt ?? null, now)}</td>
<td>${k.revokedAt ? html`Revoked ${k.revokedAt}` : html`<button type="button" class="danger" data-action="revoke-key" data-key="${k.id}" data-name="${k.name}">Revoke</button>`}</td></tr>`);
  return html`<h1>API keys</h1>
<p class="small">Apps and assistants call Keyway with an API key. A key is shown once, when it is made; Keyway stores only its hash.</p>
<form data-api="POST /v1/api-keys" data-result="key">
<p class="field"><label for="f-keyname">Name</label><input id="f-keyname" name="name" required autocomplete="off"></p>
<p class="field"><label for="f-keyexpiry">Expires</label><select id="f-keyexpiry" name="expiresInDays" data-number><option value="">Never</option><option value="30">In 30 days</option><option value="90">In 90 days</option><option value="365">In a year</option></select></p>
<p class="field"><label><input type="checkbox" name="scope.manage"> May manage (integrations, connections)</label></p>
<p><button type="submit" class="primary">Create key</button></p></form>
<div class="result" data-result-for="key" role="status"></div>
<div class="table"><table><caption>Keys</caption><thead><tr><th scope="col">Name</th><th scope="col">Starts with</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="sr">Action</span></th></tr></thead>
<tbody id="key-rows">${rows}</tbody></table></div>
${nextCursor ? html`<nav class="pager" aria-label="Pages"><a href="/keys${query({ cursor: nextCursor })}">Next page</a></nav>` : ''}`;
}
