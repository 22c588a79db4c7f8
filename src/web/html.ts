/**
 * The dashboard's template helper: a tagged template that escapes every interpolated value unless
 * it is already-safe markup (`Html`, made by `html` itself or `raw` for trusted constants).
 */
export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(v: Part): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

/** `html\`<p>${userText}</p>\`` — values are escaped; nested `html` results and arrays of them are kept. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => { out += render(v) + (strings[i + 1] ?? ''); });
  return new Html(out);
}

/** Markup written in this code base (never user input). */
export function raw(s: string): Html {
  return new Html(s);
}

/** A query string from defined, non-empty values. */
export function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * A moment as people read it — `2026-11-24 05:27 UTC` (with seconds where order matters, as in the
 * audit log) — in a `<time>` element that keeps the exact ISO time for machines. Not a date: as given.
 */
export function when(iso: string | null | undefined, opts: { seconds?: boolean } = {}): Html | string {
  if (iso === null || iso === undefined) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const shown = d.toISOString().slice(0, opts.seconds ? 19 : 16).replace('T', ' ');
  return html`<time datetime="${d.toISOString()}">${shown} UTC</time>`;
}
