/**
 * The dashboard renders from Keyway's own JSON API, called in-process with the person's session
 * cookie: one set of access rules (what this member may see) for the API and the pages alike.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON as the API returns it
export type Json = any;

export interface ApiAnswer {
  status: number;
  body: Json;
}

/** A GET against the JSON API as the signed-in person. */
export type ApiGet = (path: string) => Promise<ApiAnswer>;

/** The answer's body when it succeeded; otherwise the API's own error message, for the page to show. */
export function ok(a: ApiAnswer): { data: Json; error: null } | { data: null; error: string } {
  if (a.status >= 200 && a.status < 300) return { data: a.body, error: null };
  return { data: null, error: String(a.body?.error?.message ?? `The request failed (HTTP ${a.status}).`) };
}
