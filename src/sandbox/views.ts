/**
 * HTML of the sandbox's pages: self-contained (inline CSS, no script, no third-party resource),
 * every interpolated value escaped. Forms post to absolute paths and use stable field names so
 * tests can drive them with plain HTTP: `username`, and `decision=allow|deny` on the consent page.
 */

export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const CSS = `body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1f2328;margin:0}
main{max-width:380px;margin:48px auto;background:#fff;border-radius:8px;padding:24px 28px;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.3em;margin:0 0 4px}.sub{color:#57606a;margin:0 0 20px;font-size:.9em}
label{display:block;font-weight:600;margin-bottom:6px}
input[type=text]{width:100%;box-sizing:border-box;padding:9px;font-size:1em;border:1px solid #d0d7de;border-radius:6px;margin-bottom:14px}
button{font-size:1em;padding:9px 16px;border-radius:6px;border:1px solid #d0d7de;background:#f6f8fa;cursor:pointer}
button.primary{background:#1f6feb;border-color:#1f6feb;color:#fff}
.row{display:flex;gap:10px;justify-content:flex-end}.error{color:#cf222e}
ul{padding-left:20px}li{margin:6px 0}code{font-size:1.4em;letter-spacing:.1em}`;

export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Keyway sandbox</title><style>${CSS}</style></head>
<body><main>${body}</main></body></html>`;
}

export function loginPage(input: { action: string; clientName: string; error?: string }): string {
  const error = input.error ? `<p class="error">${escapeHtml(input.error)}</p>` : '';
  return page('Sign in', `<h1>Sign in to the Keyway sandbox</h1>
<p class="sub">to continue to <strong>${escapeHtml(input.clientName)}</strong>. Any user name works.</p>
${error}<form method="post" action="${escapeHtml(input.action)}">
<label for="username">User name</label>
<input type="text" id="username" name="username" autocomplete="username" placeholder="alice" required autofocus>
<div class="row"><button type="submit" class="primary">Sign in</button></div>
</form>`);
}

export const SCOPE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  openid: 'Confirm your identity',
  profile: 'Read your name',
  email: 'Read your email address',
  offline_access: 'Keep access while you are away',
  'items:read': 'Read your items',
  'items:write': 'Create items',
};

export function consentPage(input: {
  action: string;
  clientName: string;
  accountId: string;
  scopes: readonly string[];
}): string {
  const items = input.scopes
    .map((s) => `<li><strong>${escapeHtml(s)}</strong> — ${escapeHtml(SCOPE_DESCRIPTIONS[s] ?? s)}</li>`)
    .join('');
  return page('Allow access', `<h1>Allow access?</h1>
<p class="sub">Signed in as <strong>${escapeHtml(input.accountId)}</strong></p>
<p><strong>${escapeHtml(input.clientName)}</strong> asks to:</p>
<ul>${items || '<li>Access your account</li>'}</ul>
<form method="post" action="${escapeHtml(input.action)}">
<div class="row"><button type="submit" name="decision" value="deny">Deny</button>
<button type="submit" name="decision" value="allow" class="primary">Allow</button></div>
</form>`);
}

export function messagePage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}

/** Puts buttons inside a form oidc-provider generated (its forms end with `</form>`). */
export function withButtons(form: string, buttons: string): string {
  const end = form.lastIndexOf('</form>');
  return end === -1 ? form + buttons : `${form.slice(0, end)}${buttons}</form>${form.slice(end + 7)}`;
}

export function deviceInputPage(form: string, error: string | undefined): string {
  const message = error
    ? `<p class="error">${escapeHtml(error)}</p>`
    : '<p class="sub">Enter the code shown on your device.</p>';
  const noScript = form.replace(/\s+onfocus="[^"]*"/g, '');
  const inner = withButtons(noScript, '<div class="row"><button type="submit" class="primary">Continue</button></div>');
  return page('Connect a device', `<h1>Connect a device</h1>${message}${inner}`);
}

export function deviceConfirmPage(form: string, clientName: string, userCode: string): string {
  const inner = withButtons(form, `<div class="row">
<button type="submit" name="abort" value="yes">Abort</button>
<button type="submit" class="primary">Continue</button></div>`);
  return page('Confirm device', `<h1>Confirm the device</h1>
<p><strong>${escapeHtml(clientName)}</strong> shows this code:</p><p><code>${escapeHtml(userCode)}</code></p>
<p class="sub">Continue only if your device shows the same code.</p>${inner}`);
}
