/** Each connection's stamp as the store has it (`connections.stamps`); a deleted one is absent. */
export type StampRead = (ids: string[]) => Promise<Map<string, string>>;

/**
 * The token cache's re-check as the audit thread answers it. Its database connection never writes
 * connections (it only appends audit entries), so stamps it has read stay true until another
 * connection commits — which SQLite's `data_version` tells (`store.dataVersion`). Stamps are reused
 * until then, and only connections not asked about before are read; where the database cannot
 * tell (PostgreSQL: null), every ask reads. On a single-process SQLite store under load, the
 * re-check of every cached connection twice a second then costs one PRAGMA instead of a query per
 * 500 rows.
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

  async stamps(ids: string[]): Promise<Map<string, string>> {
    // Read before the stamps: a commit in between is seen as a change next time, never missed.
    const version = await this.#version();
    if (version === null) return this.#read(ids);
    if (version !== this.#at) {
      this.#known.clear();
      this.#at = version;
    }
    const unknown = ids.filter((id) => !this.#known.has(id));
    if (unknown.length > 0) {
      const found = await this.#read(unknown);
      if (this.#known.size + unknown.length > this.#max) this.#known.clear();
      for (const id of unknown) this.#known.set(id, found.get(id) ?? null);
    }
    const out = new Map<string, string>();
    for (const id of ids) {
      const stamp = this.#known.get(id);
      if (stamp !== null && stamp !== undefined) out.set(id, stamp);
    }
    return out;
  }
}
