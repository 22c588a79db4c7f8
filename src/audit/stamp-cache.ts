/** Each connection's stamp as the store has it (`connections.stamps`); a deleted one is absent. */
export type StampRead = (ids: string[]) => Promise<Map<string, string>>;

/**
 * The ids among `ids` whose stamp in `found` (the store's answer) is no longer `expected[i]`: the
 * row changed, or it is gone (absent, or null).
 */
function changedStamps(found: ReadonlyMap<string, string | null>, ids: readonly string[], expected: readonly string[]): string[] {
  const changed: string[] = [];
  for (let i = 0; i < ids.length; i++) if (found.get(ids[i]!) !== expected[i]) changed.push(ids[i]!);
  return changed;
}

/** `changedStamps` against what `read` (the store's `connections.stamps`) answers now. */
export async function readChanged(read: StampRead, ids: string[], expected: string[]): Promise<string[]> {
  return changedStamps(await read(ids), ids, expected);
}

/**
 * The token cache's re-check as the audit thread answers it: the request thread sends the stamps
 * it holds and is told only which of them no longer match, so an unchanged cache (the usual case)
 * costs it the copy of ids and stamps one way and an empty list back.
 *
 * Its database connection never writes connections (it only appends audit entries), so stamps it
 * has read stay true until another connection commits — which SQLite's `data_version` tells
 * (`store.dataVersion`). Stamps are reused until then, and only connections not asked about
 * before are read; where the database cannot tell (PostgreSQL: null), every ask reads. On a
 * single-process SQLite store under load, the re-check of every cached connection twice a second
 * then costs one PRAGMA instead of a query per 500 rows.
 */
export class StampCache {
  readonly #read: StampRead;
  readonly #version: () => Promise<number | null>;
  readonly #max: number;
  #at: number | null = null;
  /** id → stamp, or null for a connection that was absent. */
  readonly #known = new Map<string, string | null>();

  constructor(read: StampRead, version: () => Promise<number | null>, max = 100_000) {
    this.#read = read;
    this.#version = version;
    this.#max = max;
  }

  /** The ids among `ids` whose stamp is no longer `expected[i]` (changed or deleted), in order. */
  async changed(ids: string[], expected: string[]): Promise<string[]> {
    // Read before the stamps: a commit in between is seen as a change next time, never missed.
    const version = await this.#version();
    if (version === null) return readChanged(this.#read, ids, expected);
    if (version !== this.#at) {
      this.#known.clear();
      this.#at = version;
    }
    let unknown = ids.filter((id) => !this.#known.has(id));
    if (this.#known.size + unknown.length > this.#max) {
      this.#known.clear();
      unknown = ids;
    }
    if (unknown.length > 0) {
      const found = await this.#read(unknown);
      for (const id of unknown) this.#known.set(id, found.get(id) ?? null);
    }
    return changedStamps(this.#known, ids, expected);
  }
}
