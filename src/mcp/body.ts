/**
 * A provider's response body as a model is shown it: text (JSON, XML, CSV…) up to a limit, with a
 * note saying what was cut and how to ask for the rest; a binary body described (type, size),
 * never dumped. Pure: the bytes were read by `gateway-call.ts`.
 */

export interface BodyFacts {
  contentType: string | undefined;
  /** `Content-Length` as sent, when it was. */
  contentLength: number | null;
  /** The first bytes of the body (at most `limit`). */
  kept: Buffer;
  /** Bytes read; all of them when `complete`. */
  read: number;
  complete: boolean;
  limit: number;
  /** Response headers that tell how to page: `Link`, `Accept-Ranges`. */
  link: string | undefined;
  acceptRanges: string | undefined;
}

export interface ShownBody {
  kind: 'empty' | 'text' | 'binary';
  /** The body text (possibly cut), or for a binary body its description. */
  text: string;
  truncated: boolean;
  /** Total size in bytes when known. */
  size: number | null;
  /** What was cut and how to see more; null when nothing was. */
  note: string | null;
}

const TEXT_TYPE = /^(text\/|application\/([\w.+-]*\+)?(json|xml|javascript|ecmascript|x-www-form-urlencoded|yaml|x-yaml|csv|graphql|x-ndjson|ndjson|problem\+json|ld\+json|sql|x-sh)\b)|[+/](json|xml)\b/i;
const UNKNOWN_TYPE = /^(application\/octet-stream|binary\/octet-stream|application\/unknown)?$/i;

/**
 * Whether a body is text: by its declared type; an unlabelled or `application/octet-stream` body
 * ("unknown", RFC 2046 §4.5.1) by its first bytes — valid UTF-8 with no control characters
 * besides whitespace.
 * @see https://www.rfc-editor.org/rfc/rfc2046#section-4.5.1
 */
export function isTextBody(contentType: string | undefined, sample: Buffer): boolean {
  const type = (contentType ?? '').split(';', 1)[0]!.trim();
  if (TEXT_TYPE.test(type)) return true;
  if (!UNKNOWN_TYPE.test(type)) return false;
  const head = utf8Prefix(sample.subarray(0, 4096));
  return head !== null && !/[\x00-\x08\x0b\x0e-\x1f\x7f]/.test(head);
}

/** The longest prefix that is whole UTF-8 (a cut may split a character at the end); null if it is not UTF-8. */
export function utf8Prefix(bytes: Buffer): string | null {
  let end = bytes.length;
  // Step back over a character the cut split: at most 3 continuation bytes after its lead byte.
  for (let i = 1; i <= 3 && end - i >= 0; i++) {
    const b = bytes[end - i]!;
    if ((b & 0xc0) === 0x80) continue;
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      if (i < need) end -= i;
    }
    break;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, end));
  } catch {
    return null; // not UTF-8: the caller treats the body as binary
  }
}

function bytes(n: number): string {
  return `${n.toLocaleString('en-US')} bytes`;
}

/** The body's total size, when known. */
function sizeOf(f: BodyFacts): number | null {
  if (f.complete) return f.read;
  return f.contentLength;
}

export function showBody(f: BodyFacts): ShownBody {
  const size = sizeOf(f);
  if (f.read === 0 && f.complete) return { kind: 'empty', text: '', truncated: false, size: 0, note: null };
  const type = f.contentType ?? 'no content type';
  if (!isTextBody(f.contentType, f.kept)) {
    const text = `Binary body not shown (${type}, ${size === null ? `more than ${bytes(f.read)}` : bytes(size)}).`;
    return { kind: 'binary', text, truncated: false, size, note: 'A binary body cannot be shown here. Ask the API for metadata or a text representation instead; an app can download the file itself through Keyway\'s REST gateway (/v1/proxy/{connection}/{path}).' };
  }
  const prefix = utf8Prefix(f.kept);
  // Text that is not UTF-8 (a declared charset such as ISO-8859-1): shown byte for byte.
  const text = prefix ?? f.kept.toString('latin1');
  const shown = prefix === null ? f.kept.length : Buffer.byteLength(prefix);
  const whole = f.complete && shown >= f.read;
  if (whole) return { kind: 'text', text, truncated: false, size, note: null };
  const of = size === null ? `more than ${bytes(f.read)}` : bytes(size);
  const note = `Body cut: showing the first ${bytes(shown)} of ${of}${size === null ? '' : ` (${bytes(size - shown)} not shown)`}${/json/i.test(type) ? '; the JSON shown is therefore incomplete' : ''}. ${pagingAdvice(f, text, shown)}`;
  return { kind: 'text', text, truncated: true, size, note };
}

/** Keys that APIs use to say how to get the next page, looked for in the part shown. */
const PAGING_KEYS = ['nextCursor', 'next_cursor', 'cursor', 'nextPageToken', 'next_page_token', 'pageToken', 'next_page', 'nextPage', 'next', '@odata.nextLink', 'has_more', 'hasMore', 'offset', 'page', 'per_page', 'pageSize', 'limit', 'total', 'total_count'];

/** How to ask for less, or for the rest: the API's own paging where the answer shows it, else the usual ways. */
export function pagingAdvice(f: Pick<BodyFacts, 'link' | 'acceptRanges'>, shownText: string, shownBytes: number): string {
  const tips: string[] = [];
  const next = f.link === undefined ? null : /<([^>]*)>\s*;[^,]*\brel="?next"?/i.exec(f.link);
  if (next) tips.push(`The API gave a next page link (Link: rel="next"): ${next[1]!.slice(0, 500)} — call it by its path and query.`);
  const found = PAGING_KEYS.filter((k) => shownText.includes(`"${k}"`));
  if (found.length > 0) tips.push(`The response has paging fields (${found.slice(0, 6).map((k) => `"${k}"`).join(', ')}); use them in \`query\` to ask for a smaller page or the next one.`);
  if (tips.length === 0) {
    tips.push('To see more, ask for less at a time: use the API\'s paging or filtering query parameters (commonly limit / per_page / page_size with page / offset / cursor, or a fields selector) in `query`.');
  }
  if (f.acceptRanges !== undefined && /bytes/i.test(f.acceptRanges)) {
    tips.push(`The API accepts byte ranges: send headers {"Range": "bytes=${shownBytes}-${shownBytes * 2 - 1}"} for the next part.`);
  } else if (next === null && found.length === 0) {
    tips.push(`If the API supports byte ranges, headers {"Range": "bytes=${shownBytes}-${shownBytes * 2 - 1}"} ask for the next part.`);
  }
  return tips.join(' ');
}
