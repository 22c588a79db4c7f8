/** The one hook the protocol layer applies; the catalog's quirk modules implement it. */
export interface TokenResponseNormalizer {
  normalizeTokenResponse?(res: { status: number; headers: Headers; body: unknown }): { status: number; body: unknown };
}

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

function isJson(contentType: string | null): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || type.endsWith('+json');
}

/**
 * Wraps a fetch so JSON responses pass through the provider's `normalizeTokenResponse` before
 * oauth4webapi parses them. Without that hook the fetch is returned as it is. A body that is not
 * valid JSON is handed on unchanged, for oauth4webapi to reject in its usual way.
 */
export function withNormalizer(fetchFn: typeof fetch, hooks: TokenResponseNormalizer): typeof fetch {
  const normalize = hooks.normalizeTokenResponse?.bind(hooks);
  if (!normalize) return fetchFn;
  const wrapped = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): Promise<Response> => {
    const res = await fetchFn(input, init);
    if (NULL_BODY_STATUS.has(res.status) || !isJson(res.headers.get('content-type'))) return res;
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON after all: rebuild the response unchanged; oauth4webapi reports the parse failure.
      return new Response(text, { status: res.status, statusText: res.statusText, headers: copyHeaders(res.headers) });
    }
    const out = normalize({ status: res.status, headers: res.headers, body });
    const headers = copyHeaders(res.headers);
    headers.set('content-type', 'application/json');
    return new Response(JSON.stringify(out.body), { status: out.status, headers });
  };
  return wrapped as typeof fetch;
}

function copyHeaders(from: Headers): Headers {
  const headers = new Headers(from);
  headers.delete('content-length');
  headers.delete('content-encoding');
  return headers;
}
