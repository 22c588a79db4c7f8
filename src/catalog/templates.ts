import { KeywayError } from '../core/errors.ts';
import type { ProviderDefinition } from './schema.ts';

/**
 * URL templates: `https://{subdomain}.zendesk.com/oauth/tokens`. Placeholders are filled from the
 * connection's values (given when connecting, checked against the definition's pattern) and, for API
 * base URLs, from values kept from the token response (Salesforce's `{instance_url}`).
 */
const PLACEHOLDER = /\{([a-z][a-z0-9_]*)\}/g;

/**
 * A value of only dots (`.`, `..`, also percent-encoded): in a URL's path it is a dot segment, which
 * `new URL` and servers resolve, so `/t/{tenant}/v1` with `..` would become `/v1`. Refused wherever
 * connection values are checked or filled, whatever a definition's pattern allows.
 *
 * @see RFC 3986 §5.2.4 (remove dot segments) https://www.rfc-editor.org/rfc/rfc3986#section-5.2.4
 */
const ONLY_DOTS = /^(?:\.|%2e)+$/i;

export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}

/** True when a definition's URLs need connection values (then endpoints are per connection). */
export function hasTemplates(def: ProviderDefinition): boolean {
  return Object.keys(def.connectionParams).length > 0;
}

/**
 * Checks and completes connection values against the definition: unknown names refused, missing ones
 * take their default or are refused, each must match its pattern and not be only dots. The error says
 * what to send.
 */
export function validateConnectionParams(def: ProviderDefinition, given: Record<string, unknown> | undefined): Record<string, string> {
  const input = given ?? {};
  const out: Record<string, string> = {};
  const known = def.connectionParams;
  for (const name of Object.keys(input)) {
    if (!Object.hasOwn(known, name)) {
      const names = Object.keys(known);
      throw new KeywayError('invalid_request', names.length === 0
        ? `${def.name} takes no connection params; remove "params.${name}".`
        : `${def.name} has no connection param "${name}"; it takes: ${names.join(', ')}.`);
    }
  }
  for (const [name, spec] of Object.entries(known)) {
    const raw = input[name];
    const value = raw === undefined || raw === null || raw === '' ? spec.default : raw;
    if (value === undefined) {
      throw new KeywayError('invalid_request', `${def.name} needs "params.${name}" (${spec.label}${spec.example ? `, e.g. "${spec.example}"` : ''}).`);
    }
    if (typeof value !== 'string' || !new RegExp(`^(?:${spec.pattern})$`).test(value)) {
      throw new KeywayError('invalid_request', `"params.${name}" is not a valid ${spec.label}${spec.example ? ` (e.g. "${spec.example}")` : ''}.`);
    }
    if (ONLY_DOTS.test(value)) {
      throw new KeywayError('invalid_request', `"params.${name}" cannot be only dots ("${value.slice(0, 20)}"): in a URL's path that means "here" or "one level up", not a name. Give a valid ${spec.label}${spec.example ? ` (e.g. "${spec.example}")` : ''}.`);
    }
    out[name] = value;
  }
  return out;
}

/**
 * Fills a template. Values from connection params are URL-component encoded (they were validated
 * already); a kept URL value (`{instance_url}`) is inserted as is and must itself be checked by the caller.
 * A value of only dots is refused here too (a row stored before that check), saying to reconnect.
 */
export function fillTemplate(template: string, params: Record<string, string>, kept: Record<string, string> = {}): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    if (Object.hasOwn(params, name)) {
      const value = params[name] ?? '';
      if (ONLY_DOTS.test(value)) throw onlyDotsStored(`"params.${name}"`, value, `Reconnect it with a valid "params.${name}".`);
      return encodeURIComponent(value);
    }
    if (Object.hasOwn(kept, name)) {
      const value = kept[name] ?? '';
      if (ONLY_DOTS.test(value)) throw onlyDotsStored(`"{${name}}" value`, value, 'Reconnect it so the provider sends a valid one.');
      return value.replace(/\/+$/, '');
    }
    throw new KeywayError('invalid_request', `This connection has no value for "{${name}}"; reconnect it with "params.${name}".`);
  });
}

function onlyDotsStored(what: string, value: string, todo: string): KeywayError {
  return new KeywayError('invalid_request', `This connection's ${what} is only dots ("${value.slice(0, 20)}"), which in a URL's path means "here" or "one level up", so it is not used. ${todo}`);
}

/** True when every placeholder of a template has a value (an API base URL from `{instance_url}` has none before the first token). */
export function canFill(template: string, params: Record<string, string>, kept: Record<string, string> = {}): boolean {
  return placeholdersOf(template).every((name) => Object.hasOwn(params, name) || Object.hasOwn(kept, name));
}

/** Reads a dotted path (`team.id`) from a JSON object; strings and numbers only. */
export function pickPath(body: Record<string, unknown>, path: string): string | null {
  let cur: unknown = body;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return null;
    cur = (cur as Record<string, unknown>)[part];
  }
  if (typeof cur === 'string' && cur !== '') return cur;
  if (typeof cur === 'number' && Number.isFinite(cur)) return String(cur);
  return null;
}

/**
 * The values a definition keeps from a token response. A URL value must be https on one of the
 * definition's host suffixes, or it is refused (a token response must not be able to point the
 * gateway at an arbitrary host).
 */
export function keptValues(def: ProviderDefinition, body: Record<string, unknown>): Record<string, string> {
  return keptFrom(def, 'token_response', (from) => pickPath(body, from));
}

/**
 * The values a definition keeps from the provider's redirect back after consent (QuickBooks'
 * `realmId`): there only on a connect or re-authentication, never on a refresh (the kept one stays).
 */
export function callbackValues(def: ProviderDefinition, callback: URLSearchParams): Record<string, string> {
  return keptFrom(def, 'callback', (from) => callback.get(from));
}

function keptFrom(def: ProviderDefinition, source: 'token_response' | 'callback', read: (from: string) => string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(def.keep)) {
    if (spec.in !== source) continue;
    const v = read(spec.from);
    if (v === null) continue;
    if (ONLY_DOTS.test(v)) {
      throw new KeywayError('provider_error', `${def.name} sent a "${spec.from}" of only dots; nothing was stored. Connect again; if it keeps happening, tell the provider's support.`);
    }
    if (spec.pattern !== undefined && !new RegExp(`^(?:${spec.pattern})$`).test(v)) {
      throw new KeywayError('provider_error', `${def.name} sent a "${spec.from}" that is not what it should be (${spec.pattern}); nothing was stored. Connect again; if it keeps happening, tell the provider's support.`);
    }
    if (spec.urlHostSuffixes) {
      let u: URL;
      try { u = new URL(v); } catch { throw new KeywayError('provider_error', `${def.name} returned a "${spec.from}" that is not a URL.`); }
      const host = u.hostname.toLowerCase();
      const ok = u.protocol === 'https:' && u.username === '' && u.password === '' &&
        spec.urlHostSuffixes.some((s) => host === s.replace(/^\./, '') || host.endsWith(s.startsWith('.') ? s : `.${s}`));
      if (!ok) throw new KeywayError('provider_error', `${def.name} returned a "${spec.from}" outside its domains (${spec.urlHostSuffixes.join(', ')}); it was refused.`);
      out[name] = u.origin;
      continue;
    }
    out[name] = v;
  }
  return out;
}

/**
 * How a token is put on a call to the provider's API, as the definition says: a header
 * (`Authorization: Bearer …` by default, Shopify's `X-Shopify-Access-Token`, Zoho's
 * `Zoho-oauthtoken …`) or, where the provider requires it, a query parameter.
 */
export function injectCredential(def: ProviderDefinition, url: URL, headers: Headers, token: string): void {
  const inj = def.api.inject;
  if (inj.in === 'query') url.searchParams.set(inj.name, token);
  else headers.set(inj.name, `${inj.prefix}${token}`);
}

/**
 * The request that identifies the account for `identity.source: userinfo`: the URL with the
 * connection's values filled in (`https://{subdomain}.zendesk.com/api/v2/users/me`) and the token
 * injected as the API wants it. Null when the definition identifies accounts otherwise.
 */
export function userinfoRequest(def: ProviderDefinition, values: { params: Record<string, string>; kept?: Record<string, string> }, token: string): { url: URL; headers: Headers } | null {
  if (def.identity?.source !== 'userinfo' || !def.identity.url) return null;
  const url = new URL(fillTemplate(def.identity.url, values.params, values.kept ?? {}));
  const headers = new Headers({ ...def.api.headers, accept: 'application/json' });
  injectCredential(def, url, headers, token);
  return { url, headers };
}
