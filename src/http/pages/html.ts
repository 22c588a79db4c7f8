import { randomBytes } from 'node:crypto';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

export interface Page {
  title: string;
  /** Already-escaped HTML. */
  body: string;
  /** Inline script, allowed by a per-response CSP nonce. */
  script?: string;
}

/** A self-contained page: no third-party resources, a strict Content-Security-Policy. */
export function renderPage(p: Page): { html: string; csp: string } {
  const nonce = randomBytes(16).toString('base64');
  const csp = `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(p.title)} · Keyway</title>
<style nonce="${nonce}">body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1d2330}
h1{font-size:1.5rem}.ok{color:#12733a}.err{color:#a3261b}p.small{color:#5b6475;font-size:.9rem}</style>
</head><body>${p.body}${p.script ? `<script nonce="${nonce}">${p.script}</script>` : ''}</body></html>`;
  return { html, csp };
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    try {
      out[name] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      // A cookie not set by us with a malformed value: ignore it, like a browser would.
    }
  }
  return out;
}
