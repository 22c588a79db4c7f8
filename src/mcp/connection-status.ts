import { z } from 'zod';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { iso } from '../core/clock.ts';
import { isKeywayError } from '../core/errors.ts';
import { type ToolContext, audited, jsonResult } from './context.ts';
import { linkFields, reauthLink } from './connect-link.ts';
import { statusAdvice } from './present.ts';
import { type VisibleConnection, visibleConnection } from './visible.ts';

export const CONNECTION_STATUS = 'connection_status';

export const connectionStatusInput = {
  connection: z.string().min(1).max(100).describe('The connection id (conn_…), from list_connections.'),
};

export const connectionStatusTool = {
  title: 'Connection status',
  description: 'Whether a connection can be used now: status (active, refresh_failing, needs_reauth) and the reason. '
    + 'When the person must sign in to the provider again, the answer has a connect link: show it to them, and retry once they have connected.',
  inputSchema: connectionStatusInput,
  annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: false },
};

/**
 * The token is made usable as a call would (refresh-ahead applies), so a refresh token the
 * provider revoked shows here as needs_reauth rather than on the next call. The token never
 * leaves the token service.
 */
async function check(ctx: ToolContext, v: VisibleConnection): Promise<{ now: VisibleConnection; transient: string | null }> {
  const { c } = v;
  if (c.status === 'needs_reauth') return { now: v, transient: null };
  const { principal } = ctx.caller;
  let transient: string | null = null;
  try {
    await ctx.deps.tokens.use(principal.orgId, c.id, ctx.actor, { audit: false });
  } catch (e) {
    if (!isKeywayError(e)) throw e;
    if (e.code !== 'needs_reauth') transient = e.message;
  }
  const row = await ctx.deps.store.connections.get(principal.orgId, c.id);
  return { now: { ...v, c: row ? await ctx.deps.tokens.reviewStatus(row) : c }, transient };
}

export function connectionStatus(ctx: ToolContext, input: { connection: string }): Promise<CallToolResult> {
  return audited(ctx, CONNECTION_STATUS, async (note) => {
    const found = await visibleConnection(ctx, input.connection);
    note.connectionId = found.c.id;
    note.integrationId = found.c.integrationId;
    const { now, transient } = await check(ctx, found);
    const { c } = now;
    const out: Record<string, unknown> = {
      connection: c.id, name: c.name, integration: c.integrationId, status: c.status, statusReason: c.statusReason,
      statusSince: iso(c.statusSince), advice: statusAdvice(c),
      ...(transient !== null && c.status !== 'needs_reauth' ? { note: `Checking the token failed for now: ${transient}` } : {}),
    };
    if (c.status === 'needs_reauth') {
      const link = await reauthLink(ctx, now);
      Object.assign(out, linkFields(link));
      note.detail['connectLink'] = 'link' in link;
    }
    note.detail['status'] = c.status;
    return jsonResult(out);
  });
}
