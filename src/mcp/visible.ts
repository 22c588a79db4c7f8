import { KeywayError } from '../core/errors.ts';
import { type ConnectionAccess, connectionAccess, integrationsWithin } from '../access/index.ts';
import type { ConnectionRecord, IntegrationRecord } from '../store/index.ts';
import type { ToolContext } from './context.ts';

/** A connection the caller may use, with why (owner, shared, admin) and what else that allows. */
export interface VisibleConnection {
  c: ConnectionRecord;
  access: ConnectionAccess;
}

/**
 * A connection the caller's key may use, its status as it now stands. Whether another exists is
 * not disclosed: a connection outside the key's scope, or another member's personal one, is
 * "not found", as in the REST API.
 */
export async function visibleConnection(ctx: ToolContext, id: string): Promise<VisibleConnection> {
  const { principal } = ctx.caller;
  const c = await ctx.deps.store.connections.get(principal.orgId, id);
  const access = c ? connectionAccess(principal, c) : null;
  if (!c || !access) throw new KeywayError('not_found', `No connection ${id.slice(0, 100)}. Call list_connections for the ones you can use.`);
  return { c: await ctx.deps.tokens.reviewStatus(c), access };
}

/** An integration the caller's key may see (as in the REST API: `integrationsWithin`); others are "not found". */
export async function visibleIntegration(ctx: ToolContext, id: string): Promise<IntegrationRecord> {
  const { principal } = ctx.caller;
  const missing = () => new KeywayError('not_found', `No integration ${id.slice(0, 100)}. Call list_connections for the integrations you can use.`);
  const within = await integrationsWithin(ctx.deps.store, principal);
  if (within !== null && !within.has(id)) throw missing();
  try {
    return await ctx.deps.integrations.get(principal.orgId, id);
  } catch (e) {
    if (e instanceof KeywayError && e.code === 'not_found') throw missing();
    throw e;
  }
}

/** The integrations the caller's key may see, by id. */
export async function visibleIntegrations(ctx: ToolContext): Promise<Map<string, IntegrationRecord>> {
  const { principal } = ctx.caller;
  const within = await integrationsWithin(ctx.deps.store, principal);
  const all = await ctx.deps.integrations.list(principal.orgId);
  return new Map(all.filter((i) => within === null || within.has(i.id)).map((i) => [i.id, i]));
}
