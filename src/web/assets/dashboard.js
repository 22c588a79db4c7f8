// Keyway dashboard: the one client script. Plain JavaScript, no build step, no third-party code.
// It changes things through Keyway's JSON API with the session cookie and the CSRF token from the
// page's <meta name="keyway-csrf">; it never asks for or holds a provider token.
'use strict';

(() => {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
  const ORIGIN = meta('keyway-origin');
  const CSRF = meta('keyway-csrf');
  const POLL_MS = 1500;
  const POLL_LIMIT_MS = 31 * 60_000; // a connect session lives 30 minutes (SESSION_TTL_MS)

  /** Set when Keyway last answered 401: the session ended (signed out in another tab, expired, or removed). */
  let signedOut = false;
  const SIGNED_OUT = 'You are signed out (your session ended, for example by signing out in another tab), so nothing was changed.';

  /**
   * A message in the page's live region (read out by screen readers). A failure because the session
   * ended also offers a way back: a link that reloads this page, which then shows how to sign in.
   */
  function flash(text, kind = 'ok') {
    const el = document.getElementById('flash');
    if (!el) return;
    el.className = kind;
    el.textContent = text;
    if (kind !== 'err' || !signedOut) return;
    const a = document.createElement('a');
    a.href = window.location.pathname + window.location.search;
    a.textContent = 'Sign in again';
    el.append(' ', a, ', then try once more.');
    a.focus();
  }

  /**
   * After an action removed or replaced the button that was pressed, puts keyboard focus on `el`
   * (focusable for the purpose), or else on the message, so focus is not lost to the top of the page.
   */
  function refocus(el) {
    const target = el instanceof HTMLElement ? el : document.getElementById('flash');
    if (!target) return;
    if (!target.matches('a[href], button, input, select, textarea')) target.tabIndex = -1;
    target.focus();
  }

  async function api(method, path, body) {
    const headers = { 'x-keyway-csrf': CSRF };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    signedOut = res.status === 401;
    if (signedOut) throw new Error(SIGNED_OUT);
    if (!res.ok) {
      const err = new Error(json?.error?.message ?? `Keyway answered HTTP ${res.status}.`);
      err.code = json?.error?.code ?? res.headers.get('keyway-error');
      throw err;
    }
    return { body: json, hint: res.headers.get('keyway-hint') };
  }

  // ------------------------------------------------------------------ connection items

  /** Puts the server-rendered item for a connection in place (replacing the old one, or under its integration). */
  async function showConnection(id, integrationId) {
    const res = await fetch(`/fragments/connections/${encodeURIComponent(id)}`, { credentials: 'same-origin' });
    if (!res.ok) return;
    const fragment = document.createRange().createContextualFragment(await res.text());
    const item = fragment.firstElementChild;
    if (!item) return;
    const existing = document.getElementById(id);
    if (existing) { existing.replaceWith(item); return; }
    const list = document.querySelector(`ul.connections[data-integration="${CSS.escape(integrationId ?? '')}"]`);
    if (list) list.prepend(item);
    document.querySelector(`[data-empty-for="${CSS.escape(integrationId ?? '')}"]`)?.remove();
  }

  // ------------------------------------------------------------------ connect and re-authenticate

  const PROBLEMS = {
    provider_denied: 'Not connected: access was declined at the provider. Nothing was stored. Press Connect again if that was a mistake.',
    access_denied: 'Not connected: access was declined at the provider. Nothing was stored. Press Connect again if that was a mistake.',
    expired: 'Not connected: the sign-in took longer than 30 minutes and expired. Press Connect to start again.',
  };
  const pending = new Map(); // connect session id -> { integration, reauth, timer, started }

  function finish(sessionId, outcome) {
    const p = pending.get(sessionId);
    if (!p) return;
    pending.delete(sessionId);
    clearInterval(p.timer);
    const note = document.querySelector(`[data-note-for="${CSS.escape(p.integration ?? '')}"]`);
    if (note) note.textContent = '';
    if (outcome.connected) {
      flash(p.reauth ? 'Connected! The connection has new tokens; everything that used it keeps working.' : 'Connected!', 'ok');
      if (outcome.connection) void showConnection(outcome.connection, p.integration);
      return;
    }
    flash(PROBLEMS[outcome.problem] ?? PROBLEMS[outcome.error] ?? `Not connected (${outcome.problem ?? outcome.error ?? 'failed'}). Nothing was stored. The sign-in window explains why; press Connect to try again.`, 'err');
  }

  /** The callback page posts the outcome to its opener; only Keyway's own origin is believed. */
  window.addEventListener('message', (event) => {
    if (event.origin !== ORIGIN) return;
    const m = event.data;
    if (!m || m.type !== 'keyway:connect' || !pending.has(m.connectSession)) return;
    finish(m.connectSession, { connected: m.status === 'connected', connection: m.connection, problem: m.problem });
  });

  /** Where the provider's page cut the opener off (Cross-Origin-Opener-Policy), the session's status tells. */
  function poll(sessionId) {
    const p = pending.get(sessionId);
    if (!p) return;
    if (Date.now() - p.started > POLL_LIMIT_MS) { finish(sessionId, { connected: false, problem: 'expired' }); return; }
    fetch(`/v1/connect-sessions/${encodeURIComponent(sessionId)}`, { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.json() : null))
      .then((s) => {
        if (!s || s.status === 'pending') return;
        finish(sessionId, { connected: s.status === 'connected', connection: s.connection, error: s.error ?? s.status });
      })
      .catch(() => { /* a network blip: the next tick tries again */ });
  }

  /**
   * Opens the popup on the click itself (a popup opened after an await is blocked), then points it
   * at the connect link; when the browser blocked it, offers the link instead.
   */
  async function startConnect(button, start, integration, reauth) {
    const popup = window.open('about:blank', 'keyway-connect', 'popup,width=560,height=720');
    button.disabled = true;
    try {
      const { body } = await start();
      pending.set(body.id, { integration, reauth, started: Date.now(), timer: setInterval(() => poll(body.id), POLL_MS) });
      const note = document.querySelector(`[data-note-for="${CSS.escape(integration)}"]`);
      if (popup && !popup.closed) {
        popup.location.href = body.connectUrl;
        flash('Finish signing in in the window that opened.', 'ok');
      } else if (note) {
        note.replaceChildren();
        const p = document.createElement('p');
        p.append('Your browser blocked the sign-in window. ');
        const a = document.createElement('a');
        a.href = body.connectUrl;
        a.target = '_blank';
        a.rel = 'opener';
        a.textContent = 'Open the sign-in page';
        p.append(a, ' to continue; this page updates when you are done.');
        note.append(p);
        a.focus();
      }
    } catch (e) {
      popup?.close();
      flash(e.message, 'err');
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------ actions

  const actions = {
    connect(button) {
      const integration = button.dataset.integration;
      return startConnect(button, () => api('POST', '/v1/connect-sessions', { integration }), integration, false);
    },
    reauth(button) {
      const id = button.dataset.connection;
      const integration = button.closest('ul.connections')?.dataset.integration ?? '';
      return startConnect(button, () => api('POST', `/v1/connections/${encodeURIComponent(id)}/reauthorize`, {}), integration, true);
    },
    async refresh(button) {
      const id = button.dataset.connection;
      try {
        await api('POST', `/v1/connections/${encodeURIComponent(id)}/refresh`);
        flash('Refreshed: the connection has a new access token.', 'ok');
      } catch (e) {
        flash(`Refresh failed: ${e.message}`, 'err');
      }
      await showConnection(id);
      const item = document.getElementById(id);
      if (item?.dataset.status === 'needs_reauth') {
        // The grant is dead: straight on to re-authentication (a popup needs a click of its own).
        const reason = item.querySelector('.reason')?.textContent ?? '';
        const reauth = item.querySelector('[data-action="reauth"]');
        const todo = reauth ? 'Press Re-authenticate and approve access again.' : 'Ask its owner or an admin to re-authenticate it.';
        flash(`Refresh failed: ${reason || 'the provider no longer accepts this connection\'s refresh token.'} ${todo}`, 'err');
        if (reauth) reauth.focus();
        else item.querySelector('[data-action="refresh"]')?.focus();
      }
    },
    async disconnect(button) {
      const id = button.dataset.connection;
      if (!window.confirm(`Disconnect "${button.dataset.name}"? Its tokens are deleted at once and revoked at the provider; apps using it stop working.`)) return;
      try {
        const { hint } = await api('DELETE', `/v1/connections/${encodeURIComponent(id)}`);
        const item = document.getElementById(id);
        const list = item?.closest('ul.connections');
        item?.remove();
        if (list && !list.querySelector('li') && list.dataset.integration) {
          const empty = document.createElement('p');
          empty.className = 'small empty';
          empty.dataset.emptyFor = list.dataset.integration;
          empty.textContent = 'No connections on this page yet.';
          list.after(empty);
        }
        flash(hint ? `Disconnected. ${hint}` : 'Disconnected. The tokens were deleted and revoked at the provider.', hint ? 'warn' : 'ok');
        // The pressed button is gone: keyboard focus goes on from its integration's Connect button.
        refocus(list?.closest('section')?.querySelector('[data-action="connect"]'));
      } catch (e) {
        flash(`Not disconnected: ${e.message}`, 'err');
      }
    },
    async share(button) {
      const id = button.dataset.connection;
      const value = button.parentElement?.querySelector('select')?.value ?? 'personal';
      const [sharing, level] = value.split(':');
      try {
        await api('PATCH', `/v1/connections/${encodeURIComponent(id)}`, level ? { sharing, level } : { sharing });
        flash(sharing === 'shared' ? `Shared with the team (${level}).` : 'Now personal: only its owner uses it.', 'ok');
        await showConnection(id);
      } catch (e) {
        flash(`Sharing not changed: ${e.message}`, 'err');
      }
    },
    async 'revoke-key'(button) {
      if (!window.confirm(`Revoke the key "${button.dataset.name}"? Apps using it are refused from now on.`)) return;
      try {
        await api('DELETE', `/v1/api-keys/${encodeURIComponent(button.dataset.key)}`);
        const cell = button.closest('td');
        if (cell) cell.textContent = 'Revoked';
        flash(`Revoked the key "${button.dataset.name}".`, 'ok');
        refocus(cell);
      } catch (e) {
        flash(`Not revoked: ${e.message}`, 'err');
      }
    },
    async 'roll-key'(button) {
      const grace = Number(button.parentElement?.querySelector('select[data-grace]')?.value ?? 60);
      const when = grace === 0 ? 'is refused from now on' : `keeps working for ${grace === 60 ? 'an hour' : grace === 1440 ? 'a day' : 'a week'}`;
      if (!window.confirm(`Roll the key "${button.dataset.name}"? You get a new key that can do the same; the old one ${when}.`)) return;
      try {
        const { body } = await api('POST', `/v1/api-keys/${encodeURIComponent(button.dataset.key)}/roll`, { graceMinutes: grace });
        const box = document.querySelector('[data-result-for="key"]');
        if (box) results.key(box, body);
        await showKey(button.dataset.key);
        flash(`Rolled the key "${button.dataset.name}". Copy the new key now.`, 'ok');
      } catch (e) {
        flash(`Not rolled: ${e.message}`, 'err');
      }
    },
    async 'set-role'(button) {
      const select = button.parentElement?.querySelector('select');
      if (!select) return;
      const role = select.value;
      try {
        await api('PATCH', `/v1/members/${encodeURIComponent(button.dataset.member)}`, { role });
        select.dataset.current = role;
        flash(`${button.dataset.name} is now ${role === 'admin' ? 'an' : 'a'} ${role}.`, 'ok');
      } catch (e) {
        select.value = select.dataset.current ?? select.value; // the role it still has
        flash(`Role not changed: ${e.message}`, 'err');
      }
    },
    async 'remove-member'(button) {
      const name = button.dataset.name;
      if (!window.confirm(`Remove ${name} from the organization? Their API keys are revoked and their sessions end at once, and their personal connections are disconnected (revoked at the provider). Connections they shared with the team stay.`)) return;
      try {
        const { body } = await api('DELETE', `/v1/members/${encodeURIComponent(button.dataset.member)}`);
        const table = button.closest('table');
        button.closest('tr')?.remove();
        refocus(table?.querySelector('caption'));
        const n = body?.disconnectedConnections?.length ?? 0;
        const kept = body?.sharedConnectionsKept?.length ?? 0;
        flash(`Removed ${name}: ${body?.revokedKeys ?? 0} API key(s) revoked, ${body?.endedSessions ?? 0} session(s) ended, ${n} personal connection(s) disconnected${kept ? `, ${kept} shared connection(s) kept` : ''}.`, 'ok');
      } catch (e) {
        flash(`Not removed: ${e.message}`, 'err');
      }
    },
    async 'leave-org'(button) {
      if (!window.confirm('Leave the organization? Your API keys are revoked and your sessions end at once (you are signed out here too), and your personal connections are disconnected (revoked at the provider). Connections you shared with the team stay.')) return;
      try {
        await api('DELETE', `/v1/members/${encodeURIComponent(button.dataset.member)}`);
        window.location.assign('/?left=1'); // signed out now: the page says so and how to sign in
      } catch (e) {
        flash(`You are still a member: ${e.message}`, 'err');
      }
    },
    async 'withdraw-invite'(button) {
      if (!window.confirm(`Withdraw the invite for ${button.dataset.name}? Its link stops working.`)) return;
      try {
        await api('DELETE', `/v1/invites/${encodeURIComponent(button.dataset.invite)}`);
        const table = button.closest('table');
        button.closest('tr')?.remove();
        refocus(table?.querySelector('caption'));
        flash(`Withdrew the invite for ${button.dataset.name}.`, 'ok');
      } catch (e) {
        flash(`Not withdrawn: ${e.message}`, 'err');
      }
    },
  };

  document.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const copy = target?.closest('[data-copy]');
    if (copy) { void copyText(copy); return; }
    const button = target?.closest('button[data-action]');
    const run = button && actions[button.dataset.action];
    if (run) void run(button);
  });

  async function copyText(button) {
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      flash('Copied.', 'ok');
    } catch {
      flash(`Copy it by hand: ${button.dataset.copy}`, 'warn');
    }
  }

  // ------------------------------------------------------------------ forms that call the API

  /**
   * Form fields as the API's JSON: empty fields left out, "scopes" split on spaces, "a.b" nested,
   * checkboxes as booleans (an unchecked one marked data-only-checked is left out: "unset", not false),
   * fields marked data-number as numbers, a multiple select marked data-list as the list of its
   * chosen values (none chosen: left out).
   */
  function formJson(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name) continue;
      let value;
      if (el.type === 'checkbox') {
        if (!el.checked && el.dataset.onlyChecked !== undefined) continue;
        value = el.checked;
      }
      else if (el.dataset.list !== undefined) {
        value = [...el.selectedOptions].map((o) => o.value);
        if (value.length === 0) continue;
      }
      else if (el.value.trim() === '') continue;
      else if (el.name === 'scopes') value = el.value.trim().split(/[\s,]+/);
      else if (el.dataset.number !== undefined) value = Number(el.value);
      else value = el.value.trim();
      const path = el.name.split('.');
      let at = out;
      for (const key of path.slice(0, -1)) at = at[key] ??= {};
      at[path[path.length - 1]] = value;
    }
    return out;
  }

  const results = {
    integration(box, body) {
      box.replaceChildren();
      const h = document.createElement('h2');
      h.textContent = `Added ${body.name}`;
      const p = document.createElement('p');
      p.append('Register this redirect URI at the provider: ');
      const code = document.createElement('code');
      code.textContent = body.redirectUri;
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.className = 'link';
      copy.dataset.copy = body.redirectUri;
      copy.textContent = 'Copy';
      p.append(code, ' ', copy);
      const next = document.createElement('p');
      const a = document.createElement('a');
      a.href = `/integrations#${encodeURIComponent(body.id)}`;
      a.textContent = 'Go to Integrations to connect';
      next.append(a);
      box.append(h, p, next);
      h.tabIndex = -1;
      h.focus();
    },
    key(box, body) {
      box.replaceChildren();
      const p = document.createElement('p');
      p.append(`Key "${body.name}" — copy it now; it is not shown again: `);
      const code = document.createElement('code');
      code.className = 'secret';
      code.textContent = body.key;
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.dataset.copy = body.key;
      copy.textContent = 'Copy key';
      p.append(code, ' ', copy);
      box.append(p);
      void showKey(body.id);
      copy.focus();
    },
    invite(box, body) {
      box.replaceChildren();
      const p = document.createElement('p');
      p.append(`Invite for ${body.email} (${body.role}) — copy this link now and send it to them; it is not shown again: `);
      const code = document.createElement('code');
      code.className = 'secret';
      code.textContent = body.inviteUrl;
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.dataset.copy = body.inviteUrl;
      copy.textContent = 'Copy link';
      p.append(code, ' ', copy);
      const note = document.createElement('p');
      note.className = 'small';
      note.textContent = body.inviteUrlNote ?? 'It works once and expires in 7 days.';
      box.append(p, note);
      copy.focus();
    },
  };

  /**
   * Draws a key's row from the server (never the key itself): a new key's at the top of the table,
   * or, when its row is on the page (after a roll: its end and "Rolled"), in its place.
   */
  async function showKey(id) {
    const tbody = document.getElementById('key-rows');
    if (!tbody) return;
    const res = await fetch(`/fragments/keys/${encodeURIComponent(id)}`, { credentials: 'same-origin' });
    if (!res.ok) return;
    const range = document.createRange();
    range.selectNodeContents(tbody); // parsed as table rows: a <tr> outside a table would be dropped
    const row = range.createContextualFragment(await res.text()).firstElementChild;
    if (!row) return;
    const shown = document.getElementById(id);
    if (shown) shown.replaceWith(row);
    else tbody.prepend(row);
  }

  document.addEventListener('submit', async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.api) return;
    event.preventDefault();
    const [method, path] = form.dataset.api.split(' ');
    const box = document.querySelector(`[data-result-for="${CSS.escape(form.dataset.result ?? '')}"]`);
    const submit = form.querySelector('button[type="submit"]');
    if (submit) submit.disabled = true;
    try {
      const { body } = await api(method, path, formJson(form));
      form.reset();
      if (box && results[form.dataset.result]) results[form.dataset.result](box, body);
      flash('Done.', 'ok');
    } catch (e) {
      flash(e.message, 'err');
    } finally {
      if (submit) submit.disabled = false;
    }
  });
})();
