/**
 * Drive an authorization server's HTML pages with plain HTTP, the way a browser without script
 * would: follow redirects by hand, keep cookies, and submit the sandbox's login, consent and
 * device pages. Made for Keyway's sandbox provider (field names `username`, `decision`,
 * `user_code`), and tolerant of other simple form pages (hidden-field auto-post forms).
 */

type Fetch = typeof fetch;

interface StoredCookie {
  name: string;
  value: string;
  host: string;
  path: string;
  expiresAt: number | undefined;
}

/** A minimal RFC 6265 cookie jar: host-only cookies, path matching, Max-Age / Expires. */
export class CookieJar {
  #cookies: StoredCookie[] = [];

  /** Stores the Set-Cookie headers of a response to a request for `url`. */
  store(url: string | URL, response: Response): void {
    const target = new URL(url);
    for (const header of response.headers.getSetCookie()) this.#storeOne(target, header);
  }

  /** The Cookie header value for a request to `url`, or undefined when no cookie applies. */
  header(url: string | URL): string | undefined {
    const target = new URL(url);
    const now = Date.now();
    this.#cookies = this.#cookies.filter((c) => c.expiresAt === undefined || c.expiresAt > now);
    const matching = this.#cookies
      .filter((c) => c.host === target.host && pathMatches(c.path, target.pathname))
      .sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  get(name: string): string | undefined {
    return this.#cookies.find((c) => c.name === name)?.value;
  }

  clear(): void {
    this.#cookies = [];
  }

  /** fetch with this jar: sends its cookies, stores the response's, never follows redirects. */
  async fetch(url: string | URL, init: RequestInit = {}, fetchImpl: Fetch = fetch): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.header(url);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetchImpl(url, { ...init, headers, redirect: 'manual' });
    this.store(url, response);
    return response;
  }

  #storeOne(url: URL, header: string): void {
    const [pair = '', ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const cookie: StoredCookie = {
      name: pair.slice(0, eq).trim(),
      value: pair.slice(eq + 1).trim(),
      host: url.host,
      path: defaultPath(url.pathname),
      expiresAt: undefined,
    };
    let maxAge: number | undefined;
    for (const attribute of attributes) {
      const [key = '', ...rest] = attribute.split('=');
      const value = rest.join('=').trim();
      const name = key.trim().toLowerCase();
      if (name === 'path' && value.startsWith('/')) cookie.path = value;
      else if (name === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value);
      else if (name === 'expires' && !Number.isNaN(Date.parse(value))) cookie.expiresAt = Date.parse(value);
    }
    if (maxAge !== undefined) cookie.expiresAt = Date.now() + maxAge * 1000;
    this.#cookies = this.#cookies.filter(
      (c) => !(c.name === cookie.name && c.host === cookie.host && c.path === cookie.path),
    );
    if (cookie.expiresAt === undefined || cookie.expiresAt > Date.now()) this.#cookies.push(cookie);
  }
}

function defaultPath(pathname: string): string {
  const slash = pathname.lastIndexOf('/');
  return slash <= 0 ? '/' : pathname.slice(0, slash);
}

function pathMatches(cookiePath: string, requestPath: string): boolean {
  if (cookiePath === requestPath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}

// ---------------------------------------------------------------- HTML forms

export interface HtmlForm {
  action: URL;
  method: string;
  /** successful controls other than buttons, in document order */
  fields: Array<[string, string]>;
  inputs: Array<Record<string, string>>;
  buttons: Array<Record<string, string>>;
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_m, dec: string) => String.fromCodePoint(Number(dec)))
    .replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}

function attributesOf(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    const name = m[1]?.toLowerCase();
    if (name) out[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/** Parses the forms of a page; relative actions resolve against `pageUrl`. */
export function parseForms(html: string, pageUrl: string | URL): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = attributesOf(m[1] ?? '');
    const body = m[2] ?? '';
    const inputs = [...body.matchAll(/<input\b([^>]*)>/gi)].map((i) => attributesOf(i[1] ?? ''));
    const buttons = [...body.matchAll(/<button\b([^>]*)>/gi)].map((b) => attributesOf(b[1] ?? ''));
    const fields: Array<[string, string]> = inputs
      .filter((i) => i.name && !['submit', 'button', 'image', 'reset'].includes(i.type ?? 'text'))
      .filter((i) => !['checkbox', 'radio'].includes(i.type ?? '') || 'checked' in i)
      .map((i) => [i.name ?? '', i.value ?? '']);
    forms.push({
      action: new URL(attributes.action || String(pageUrl), pageUrl),
      method: (attributes.method ?? 'get').toUpperCase(),
      fields,
      inputs,
      buttons,
    });
  }
  return forms;
}

/** The visible text of a page, for error messages. */
export function pageText(html: string): string {
  return decodeEntities(html.replace(/<style[\s\S]*?<\/style>/gi, '').replace(/<[^>]+>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
}

// ---------------------------------------------------------------- driving

export interface DriveOptions {
  username: string;
  /** consent decision; default 'allow' */
  decision?: 'allow' | 'deny';
  /** user code for the device flow's input page */
  userCode?: string;
  jar?: CookieJar;
  fetch?: Fetch;
  /**
   * The authorization server's base URL (its issuer). URLs outside it end the drive. Default: the
   * starting URL's directory (`http://host/sandbox/auth` -> `http://host/sandbox/`).
   */
  issuer?: string;
  /** at most this many requests; default 25 */
  maxSteps?: number;
}

export type DriveResult =
  | { kind: 'left'; url: URL; formPost?: URLSearchParams }
  | { kind: 'page'; url: URL; status: number; html: string };

function insideBase(issuer: string | undefined, start: URL): (url: URL) => boolean {
  const base = issuer ? new URL(issuer) : new URL('.', start);
  const path = base.pathname.replace(/\/+$/, '');
  return (url) => url.origin === base.origin && (url.pathname === path || url.pathname.startsWith(`${path}/`));
}

function fillForm(
  forms: HtmlForm[],
  opts: DriveOptions,
  state: { codeEntered: boolean },
): { form: HtmlForm; body: URLSearchParams } | undefined {
  const has = (form: HtmlForm, name: string) => form.inputs.some((i) => i.name === name);
  const login = forms.find((f) => has(f, 'username'));
  if (login) {
    const body = new URLSearchParams(login.fields.filter(([k]) => k !== 'username'));
    body.set('username', opts.username);
    return { form: login, body };
  }
  const consent = forms.find((f) => f.buttons.some((b) => b.name === 'decision'));
  if (consent) {
    const body = new URLSearchParams(consent.fields);
    body.set('decision', opts.decision ?? 'allow');
    return { form: consent, body };
  }
  const codeInput = forms.find((f) => f.inputs.some((i) => i.name === 'user_code' && i.type === 'text'));
  if (codeInput) {
    // Entered once already: the page came back with an error (wrong code, denied, expired).
    if (state.codeEntered || opts.userCode === undefined) return undefined;
    state.codeEntered = true;
    const body = new URLSearchParams(codeInput.fields);
    body.set('user_code', opts.userCode);
    return { form: codeInput, body };
  }
  // Device confirmation, form_post auto-submit: forms made only of hidden fields.
  const hidden = forms.filter((f) => f.inputs.length > 0 && f.inputs.every((i) => i.type === 'hidden'));
  const only = hidden[0];
  return hidden.length === 1 && only ? { form: only, body: new URLSearchParams(only.fields) } : undefined;
}

/**
 * Requests `startUrl` and then follows redirects and submits the server's forms until a request
 * would leave the authorization server (returned without being made), or a page has no form to
 * submit (returned).
 */
export async function driveForms(startUrl: string | URL, opts: DriveOptions): Promise<DriveResult> {
  const jar = opts.jar ?? new CookieJar();
  const start = new URL(startUrl);
  const inside = insideBase(opts.issuer, start);
  let url = start;
  let init: RequestInit = { method: 'GET' };
  const state = { codeEntered: false };
  for (let step = 0; step < (opts.maxSteps ?? 25); step++) {
    const response = await jar.fetch(url, init, opts.fetch);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      url = new URL(location, url);
      init = { method: 'GET' };
      if (!inside(url)) return { kind: 'left', url };
      continue;
    }
    const html = await response.text();
    const submission = fillForm(parseForms(html, url), opts, state);
    if (!submission) return { kind: 'page', url, status: response.status, html };
    const { form, body } = submission;
    if (!inside(form.action)) return { kind: 'left', url: form.action, formPost: body };
    if (form.method === 'POST') {
      url = form.action;
      init = { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } };
    } else {
      url = new URL(form.action);
      url.search = body.toString();
      init = { method: 'GET' };
    }
  }
  throw new Error(`no end after ${opts.maxSteps ?? 25} requests (last: ${url.href})`);
}

/**
 * Runs an authorization request through login and consent and returns the URL the server sent
 * the browser to (the client's redirect URI with `code` or `error`, `state`, `iss`), unrequested.
 */
export async function authorizeWithForms(
  authorizationUrl: string | URL,
  opts: DriveOptions,
): Promise<{ callbackUrl: URL; formPost?: URLSearchParams }> {
  const result = await driveForms(authorizationUrl, opts);
  if (result.kind === 'page') {
    throw new Error(`stuck on ${result.url.href} (HTTP ${result.status}): ${pageText(result.html).slice(0, 300)}`);
  }
  return result.formPost ? { callbackUrl: result.url, formPost: result.formPost } : { callbackUrl: result.url };
}

/**
 * Completes the browser half of a device authorization (RFC 8628 §3.3): opens the verification
 * URI (complete or not), enters the user code (needed unless the URI is the complete one), signs
 * in and decides. Returns the final page (success, or the code page with an error message).
 */
export async function verifyDeviceWithForms(
  verificationUri: string | URL,
  opts: DriveOptions,
): Promise<{ url: URL; status: number; text: string }> {
  const result = await driveForms(verificationUri, opts);
  if (result.kind === 'left') throw new Error(`the device flow left the server for ${result.url.href}`);
  return { url: result.url, status: result.status, text: pageText(result.html) };
}
