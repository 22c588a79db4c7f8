import { type Html, html } from './html.ts';

/** Where the dashboard's client script and styles are served from (same origin: the CSP allows 'self' only). */
export const ASSET_PATH = '/assets/';

/**
 * The dashboard's Content-Security-Policy: nothing inline, nothing third-party. Scripts and styles
 * come from Keyway's own /assets/; fetches go to Keyway only.
 */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export interface Viewer {
  memberId: string;
  name: string;
  email: string;
  role: string;
  orgName: string;
  csrf: string;
}

export interface LayoutInput {
  title: string;
  /** Which navigation entry is current. */
  nav: 'integrations' | 'add' | 'keys' | 'members' | 'audit' | null;
  viewer: Viewer | null;
  publicOrigin: string;
  body: Html;
}

/** Each entry: id, where, label, and whether only owners and admins may use it (the API refuses members). */
const NAV: Array<[LayoutInput['nav'], string, string, boolean]> = [
  ['integrations', '/integrations', 'Integrations', false],
  ['add', '/integrations/new', 'Add integration', true],
  ['keys', '/keys', 'API keys', false],
  ['members', '/members', 'Members', false],
  ['audit', '/audit', 'Audit log', true],
];

/** Owners and admins manage integrations and read the audit log; members do not (as the API rules it). */
export function isAdminRole(role: string): boolean {
  return role === 'owner' || role === 'admin';
}

export function layout(p: LayoutInput): string {
  const v = p.viewer;
  const nav = v ? html`<nav aria-label="Main"><ul>${NAV.filter(([, , , adminOnly]) => !adminOnly || isAdminRole(v.role)).map(([id, href, label]) =>
    html`<li><a href="${href}"${p.nav === id ? html` aria-current="page"` : ''}>${label}</a></li>`)}</ul></nav>
<div class="who"><span>${v.name} · ${v.role} of ${v.orgName}</span>
<form method="post" action="/auth/logout"><input type="hidden" name="csrf" value="${v.csrf}"><button type="submit" class="link">Sign out</button></form></div>` : '';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="keyway-origin" content="${p.publicOrigin}">${v ? html`<meta name="keyway-csrf" content="${v.csrf}">` : ''}
<title>${p.title} · Keyway</title><link rel="stylesheet" href="${ASSET_PATH}dashboard.css">
<script src="${ASSET_PATH}dashboard.js" defer></script></head>
<body><a class="skip" href="#main">Skip to content</a>
<header><a class="brand" href="/">Keyway</a>${nav}</header>
<main id="main"><div id="flash" role="status" aria-live="polite"></div>${p.body}</main></body></html>`.value;
}
