import { KeywayError } from '../core/errors.ts';
import type { ProviderDefinition } from './schema.ts';

export interface ProviderQuery {
  /** Matches the id, the name or a category, case-insensitively. */
  search?: string | undefined;
  /** Exactly one of the provider's categories. */
  category?: string | undefined;
}

/** The set of known providers, by id. Definitions are immutable; the set only grows. */
export class Catalog {
  readonly #byId: Map<string, ProviderDefinition>;

  constructor(definitions: ProviderDefinition[]) {
    this.#byId = new Map();
    for (const d of definitions) this.add(d);
  }

  /**
   * Adds a definition after start-up (a provider whose URLs are known only then, such as one served
   * on a test's loopback port). An id already known is refused: a definition is never replaced.
   */
  add(d: ProviderDefinition): void {
    if (this.#byId.has(d.id)) throw new KeywayError('catalog_invalid', `provider "${d.id}" is defined twice`);
    this.#byId.set(d.id, d);
  }

  get(id: string): ProviderDefinition | undefined {
    return this.#byId.get(id);
  }

  require(id: string): ProviderDefinition {
    const d = this.#byId.get(id);
    if (!d) throw new KeywayError('invalid_request', `Unknown provider "${id}". GET /v1/providers lists the known ones; use "custom" for any other OAuth provider.`);
    return d;
  }

  list(query: ProviderQuery = {}): ProviderDefinition[] {
    const q = query.search?.trim().toLowerCase();
    return [...this.#byId.values()]
      .filter((d) => !query.category || d.categories.includes(query.category))
      .filter((d) => !q || d.id.includes(q) || d.name.toLowerCase().includes(q) || d.categories.some((c) => c.includes(q)))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every category in use, sorted: what `?category=` accepts. */
  categories(): string[] {
    return [...new Set([...this.#byId.values()].flatMap((d) => d.categories))].sort();
  }
}
