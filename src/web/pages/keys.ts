import { type Html, html, query, when } from '../html.ts';
import type { Json } from '../api.ts';

/** Whether a key's `expiresAt` (ISO, or null: never) has passed at `now` (Keyway's clock). */
function hasExpired(expiresAt: string | null, now: number): boolean {
  return expiresAt !== null && Date.parse(expiresAt) <= now;
}

/** When a key stops working: never, its date, or its date marked expired. */
function expiry(expiresAt: string | null, now: number): Html | string {
  if (expiresAt === null) return 'never';
  return hasExpired(expiresAt, now) ? html`<strong>Expired</strong> ${when(expiresAt)}` : when(expiresAt);
}

/**
 * What a key may do, in words: which integrations (by name) or connections, raw tokens or the
 * gateway only, managing, and its own rate limit when it has one.
 */
function scopeSummary(scope: Json, rateLimitPerMinute: number | null, integrationNames: ReadonlyMap<string, string>): string {
  const ints: string[] = scope?.integrations ?? [];
  const conns: string[] = scope?.connections ?? [];
  const parts = [
    ints.length === 0 ? 'all integrations' : ints.map((id) => integrationNames.get(id) ?? id).join(', '),
    ...(conns.length === 0 ? [] : [`${conns.length} connection${conns.length === 1 ? '' : 's'} only`]),
    scope?.tokenRead ? 'reads raw tokens' : 'gateway only',
    ...(scope?.manage ? ['manages'] : []),
    ...(rateLimitPerMinute === null ? [] : [rateLimitPerMinute === 0 ? 'no rate limit' : `${rateLimitPerMinute} requests a minute`]),
  ];
  return parts.join(' · ');
}

/** What a key's row is drawn with, besides the key. */
export interface KeyRowContext {
  /** Keyway's clock, for which keys have expired. */
  now: number;
  /** Integration id → name, for the key's scope. */
  integrationNames: ReadonlyMap<string, string>;
  /** For owners and admins, who see every member's keys: member id → name. Null for a member, who sees only their own. */
  ownerNames: ReadonlyMap<string, string> | null;
  /** The signed-in member: only their own keys can be rolled (the new key acts as the old one's member). */
  viewerMemberId: string;
}

/**
 * The row's actions: revoked, nothing; rolled, a note and Revoke (to end its grace period early);
 * the viewer's own working key, Roll (with when the old key stops) and Revoke; anyone else's, Revoke.
 */
function keyActions(k: Json, now: number, viewerMemberId: string): Html {
  if (k.revokedAt) return html`Revoked ${when(k.revokedAt)}`;
  const revoke = html`<button type="button" class="danger" data-action="revoke-key" data-key="${k.id}" data-name="${k.name}">Revoke</button>`;
  if (k.replacedBy) return html`Rolled ${revoke}`;
  if (hasExpired(k.expiresAt ?? null, now) || k.member !== viewerMemberId) return revoke;
  const graceId = `grace-${String(k.id)}`;
  return html`<details class="roll"><summary>Roll…</summary><p><label for="${graceId}">Old key stops</label>
<select id="${graceId}" data-grace><option value="0">at once</option><option value="60" selected>in an hour</option><option value="1440">in a day</option><option value="10080">in a week</option></select>
<button type="button" data-action="roll-key" data-key="${k.id}" data-name="${k.name}">Roll key</button></p></details> ${revoke}`;
}

/** One key's row: the page's, and the one the script puts in place after a key is made (`/fragments/keys/{id}`). */
export function keyRow(k: Json, { now, integrationNames, ownerNames, viewerMemberId }: KeyRowContext): Html {
  return html`<tr id="${k.id}"><td>${k.name}</td>${ownerNames === null ? '' : html`<td>${ownerNames.get(String(k.member)) ?? k.member}</td>`}<td><code>${k.prefix}…</code></td>
<td>${scopeSummary(k.scope, k.rateLimitPerMinute ?? null, integrationNames)}</td><td>${when(k.createdAt)}</td><td>${k.lastUsedAt ? when(k.lastUsedAt) : 'never'}</td><td>${expiry(k.expiresAt ?? null, now)}</td>
<td>${keyActions(k, now, viewerMemberId)}</td></tr>`;
}

export interface KeysPageInput extends KeyRowContext {
  keys: Json[];
  nextCursor: string | null;
  /** What a key may be limited to (the form's list). */
  integrations: Json[];
}

export function keysPage(input: KeysPageInput): Html {
  const { keys, nextCursor, integrations, ownerNames } = input;
  const rows = keys.map((k) => keyRow(k, input));
  const choices = integrations.map((i) => html`<option value="${i.id}">${i.name}</option>`);
  return html`<h1>API keys</h1>
<p class="small">Apps and assistants call Keyway with an API key. A key is shown once, when it is made; Keyway stores only its hash. Roll a key to replace it with a new one that can do the same; the old one can keep working a while, so apps can move over.</p>
<form data-api="POST /v1/api-keys" data-result="key">
<p class="field"><label for="f-keyname">Name</label><input id="f-keyname" name="name" required autocomplete="off"></p>
${integrations.length === 0 ? '' : html`<p class="field"><label for="f-keyints">Integrations it may use</label><select id="f-keyints" name="scope.integrations" multiple data-list size="${Math.min(6, integrations.length)}" aria-describedby="f-keyints-help">${choices}</select>
<span id="f-keyints-help" class="small">None selected: all of them, also those added later.</span></p>`}
<p class="field"><label for="f-keyexpiry">Expires</label><select id="f-keyexpiry" name="expiresInDays" data-number><option value="">Never</option><option value="30">In 30 days</option><option value="90">In 90 days</option><option value="365">In a year</option></select></p>
<p class="field"><label for="f-keylimit">Requests a minute</label><input id="f-keylimit" name="rateLimitPerMinute" type="number" min="0" step="1" data-number placeholder="the server's default" aria-describedby="f-keylimit-help">
<span id="f-keylimit-help" class="small">Empty: the server's default (KEYWAY_RATE_LIMIT_PER_MINUTE); 0: no limit.</span></p>
<p class="field"><label><input type="checkbox" name="scope.tokenRead"> May read raw tokens (otherwise it calls providers through the gateway only)</label></p>
<p class="field"><label><input type="checkbox" name="scope.manage"> May manage (integrations, connections)</label></p>
<p><button type="submit" class="primary">Create key</button></p></form>
<div class="result" data-result-for="key" role="status"></div>
<div class="table"><table><caption>Keys</caption><thead><tr><th scope="col">Name</th>${ownerNames === null ? '' : html`<th scope="col">Belongs to</th>`}<th scope="col">Starts with</th><th scope="col">May</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="sr">Action</span></th></tr></thead>
<tbody id="key-rows">${rows}</tbody></table></div>
${nextCursor ? html`<nav class="pager" aria-label="Pages"><a href="/keys${query({ cursor: nextCursor })}">Next page</a></nav>` : ''}`;
}
