import { type Html, html, when } from '../html.ts';
import type { Json } from '../api.ts';

/** Who is looking at the members page: their member id and role decide which controls they get. */
export interface MembersViewer {
  memberId: string;
  role: string;
}

const ROLES = ['member', 'admin', 'owner'] as const;
const isAdmin = (role: string): boolean => role === 'owner' || role === 'admin';

/** The roles this viewer may hand out: only an owner makes owners (as the API rules it). */
function grantable(viewer: MembersViewer): readonly string[] {
  return viewer.role === 'owner' ? ROLES : ROLES.filter((r) => r !== 'owner');
}

/** What the viewer may do to this member, by the API's rules (the API checks again). */
function mayManage(viewer: MembersViewer, m: Json): boolean {
  return isAdmin(viewer.role) && (m.role !== 'owner' || viewer.role === 'owner');
}

function roleOptions(roles: readonly string[], current: string): Html[] {
  return roles.map((r) => html`<option value="${r}"${r === current ? html` selected` : ''}>${r}</option>`);
}

function memberRow(viewer: MembersViewer, m: Json): Html {
  const you = m.id === viewer.memberId;
  const manage = mayManage(viewer, m);
  const selectId = `role-${m.id}`;
  const roleCell = manage
    ? html`<span class="share"><label class="sr" for="${selectId}">Role of ${m.name}</label>
<select id="${selectId}" data-current="${m.role}">${roleOptions(grantable(viewer), m.role)}</select>
<button type="button" data-action="set-role" data-member="${m.id}" data-name="${m.name}">Change role</button></span>`
    : html`<span data-role>${m.role}</span>`;
  // Anyone may leave (the API refuses the last owner, and the page shows why); admins remove others.
  const action = you
    ? html`<button type="button" class="danger" data-action="leave-org" data-member="${m.id}">Leave</button>`
    : manage ? html`<button type="button" class="danger" data-action="remove-member" data-member="${m.id}" data-name="${m.name}">Remove</button>` : '';
  return html`<tr id="${m.id}" data-member="${m.id}"><td>${m.name}${you ? html` <span class="small">(you)</span>` : ''}</td><td>${m.email}</td>
<td>${roleCell}</td><td>${m.singleSignOn ? 'single sign-on' : 'sign-in links'}</td><td>${when(m.createdAt)}</td><td>${action}</td></tr>`;
}

function inviteForm(viewer: MembersViewer): Html {
  return html`<h2>Invite someone</h2>
<form data-api="POST /v1/invites" data-result="invite" class="filters">
<p class="field"><label for="f-invite-email">Email</label><input id="f-invite-email" name="email" type="email" required autocomplete="off"></p>
<p class="field"><label for="f-invite-role">Role</label><select id="f-invite-role" name="role">${roleOptions(grantable(viewer), 'member')}</select></p>
<p><button type="submit" class="primary">Invite</button></p></form>
<div class="result" data-result-for="invite" role="status"></div>`;
}

function invitesTable(invites: Json[]): Html {
  if (invites.length === 0) return html``;
  const rows = invites.map((i) => html`<tr id="${i.id}"><td>${i.email}</td><td>${i.role}</td><td>${i.status}</td><td>${when(i.expiresAt)}</td>
<td><button type="button" class="danger" data-action="withdraw-invite" data-invite="${i.id}" data-name="${i.email}">Withdraw</button></td></tr>`);
  return html`<div class="table"><table><caption>Open invites (their links are never shown again)</caption>
<thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Expires</th><th scope="col"><span class="sr">Action</span></th></tr></thead>
<tbody>${rows}</tbody></table></div>`;
}

/**
 * Members with their roles. Owners and admins also get the invite form, open invites, and role and
 * remove controls where the API's rules let them act; a member sees the list and can leave.
 */
export function membersPage(viewer: MembersViewer, members: Json[], invites: Json[] | null): Html {
  const current = members.filter((m) => m.removedAt === null || m.removedAt === undefined);
  const admin = isAdmin(viewer.role);
  return html`<h1>Members</h1>
<p class="small">Owners may do everything. Admins manage integrations, invites, shared connections and members who are not owners.
Members connect accounts and use their own and shared connections.</p>
${admin ? inviteForm(viewer) : html`<p class="small">Only owners and admins can invite people or change members.</p>`}
${admin && invites ? invitesTable(invites) : ''}
<div class="table"><table><caption>Members</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Signs in with</th><th scope="col">Joined</th><th scope="col"><span class="sr">Action</span></th></tr></thead>
<tbody>${current.map((m) => memberRow(viewer, m))}</tbody></table></div>`;
}
