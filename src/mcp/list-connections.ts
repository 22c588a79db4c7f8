import { z } from 'zod';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { connectionAccess } from '../access/index.ts';
import { type ToolContext, audited, jsonResult } from './context.ts';
import { viewConnection } from './present.ts';
import { visibleIntegration, visibleIntegrations } from './visible.ts';

export const LIST_CONNECTIONS = 'list_connections';

export const listConnectionsInput = {
  integration: z.string().min(1).max(100).optional().describe('Only connections of this integration id.'),
  cursor: z.string().max(500).optional().describe('nextCursor from the previous answer, for the next page.'),
};

const PAGE = 50;

export const listConnectionsTool = {
  title: 'List connections',
  description: 'The connections (to Google, Slack, GitHub, …) you may call through Keyway: id, name, provider, status and what each can do — '
    + 'the provider API base URLs that call_api paths go below, and the scopes the person granted. Also names integrations you could connect '
    + 'but have no connection to yet (use connect for a link).',
  inputSchema: listConnectionsInput,
  annotations: { readOnlyHint: true, openWorldHint: false },
};

export function listConnections(ctx: ToolContext, input: { integration?: string | undefined; cursor?: string | undefined }): Promise<CallToolResult> {
  return audited(ctx, LIST_CONNECTIONS, async (note) => {
    const { principal } = ctx.caller;
    if (input.integration !== undefined) {
      await visibleIntegration(ctx, input.integration);
      note.integrationId = input.integration;
    }
    const page = await ctx.deps.store.connections.list(principal.orgId, { integrationId: input.integration }, { limit: PAGE, cursor: input.cursor });
    const rows = await Promise.all(page.data.flatMap((c) => {
      const access = connectionAccess(principal, c);
      return access ? [ctx.deps.tokens.reviewStatus(c).then((r) => ({ c: r, via: access.via }))] : [];
    }));
    const integrations = await visibleIntegrations(ctx);
    const connections = rows.map(({ c, via }) => viewConnection(ctx.deps, c, via, integrations.get(c.integrationId)));
    note.detail['count'] = connections.length;
    const out: Record<string, unknown> = { connections, nextCursor: page.nextCursor };
    // Only when every connection was seen can "no connection yet" be told.
    if (input.cursor === undefined && page.nextCursor === null) {
      const connected = new Set(rows.map(({ c }) => c.integrationId));
      out['integrationsWithoutConnection'] = [...integrations.values()]
        .filter((i) => !connected.has(i.id) && (input.integration === undefined || i.id === input.integration))
        .map((i) => ({ integration: i.id, name: i.name, provider: i.provider }));
    }
    out['howTo'] = 'call_api {connection, method, path} calls the provider API: path is relative to the connection\'s first apiBaseUrls entry. '
      + 'A connection with status needs_reauth must be reconnected by the person: connection_status gives a link. '
      + 'To connect an integration listed in integrationsWithoutConnection, use connect.';
    return jsonResult(out);
  });
}
