import { type Html, html, query } from '../html.ts';
import type { Json } from '../api.ts';

export function keysPage(keys: Json[], nextCursor: string | null): Html {
  const rows = keys.map((k) => html`<tr id="${k.id}"><td>${k.name}</td><td><code>${k.prefix}…</code></td>
<td>${k.createdAt}</td><td>${k.lastUsedAt ?? 'never'}</td>
<td>${k.revokedAt ? html`Revoked ${k.revokedAt}` : html`<button type="button" class="danger" data-action="revoke-key" data-key="${k.id}" data-name="${k.name}">Revoke</button>`}</td></tr>`);
  return html`<h1>API keys</h1>
<p class="small">Apps and assistants call Keyway with an API key. A key is shown once, when it is made; Keyway stores only its hash.</p>
<form data-api="POST /v1/api-keys" data-result="key">
<p class="field"><label for="f-keyname">Name</label><input id="f-keyname" name="name" required autocomplete="off"></p>
<p class="field"><label><input type="checkbox" name="scope.manage"> May manage (integrations, connections)</label></p>
<p><button type="submit" class="primary">Create key</button></p></form>
<div class="result" data-result-for="key" role="status"></div>
<div class="table"><table><caption>Keys</caption><thead><tr><th scope="col">Name</th><th scope="col">Starts with</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="sr">Action</span></th></tr></thead>
<tbody id="key-rows">${rows}</tbody></table></div>
${nextCursor ? html`<nav class="pager" aria-label="Pages"><a href="/keys${query({ cursor: nextCursor })}">Next page</a></nav>` : ''}`;
}
