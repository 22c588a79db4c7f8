import { KeywayError } from '../core/errors.ts';
import type { ProviderDefinition } from './schema.ts';

export interface ProviderQuery {
  search?: string | undefined;
  category?: string | undefined;
}

/** The set of known providers, by id. Immutable once built. */
export class Catalog {
  readonly #byId: Map<string, ProviderDefinition>;

  constructor(definitions: ProviderDefinition[]) {
    this.#byId = new Map();
    for (const d of definitions) {
      if (this.#byId.has(d.id)) throw new KeywayError('catalog_invalid', `provider "${d.id}" is defined twice`);
      this.#byId.set(d.id, d);
    }
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
    const q = query.search?.toLowerCase();
    return [...this.#byId.values()]
      .filter((d) => !query.category || d.categories.includes(query.category))
      .filter((d) => !q || d.id.includes(q) || d.name.toLowerCase().includes(q))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}
