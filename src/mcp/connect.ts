import { z } from 'zod';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { requireMayAddConnections } from '../access/index.ts';
import { type ToolContext, audited, jsonResult } from './context.ts';
import { linkFields, newConnectionLink } from './connect-link.ts';
import { visibleIntegration } from './visible.ts';

export const CONNECT = 'connect';

export const connectInput = {
  integration: z.string().min(1).max(100).describe('The integration id (int_…), from list_connections (integrationsWithoutConnection).'),
  name: z.string().min(1).max(200).optional().describe('A name for the new connection, e.g. "Alice\'s Google Drive".'),
};

export const connectTool = {
  title: 'Connect a service',
  description: 'A link for the person to connect an integration they have no connection to yet: they open it, sign in to the provider and approve access. '
    + 'Show them the link; once they say they are done, call list_connections and carry on.',
  inputSchema: connectInput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
};

export function connect(ctx: ToolContext, input: { integration: string; name?: string | undefined }): Promise<CallToolResult> {
  return audited(ctx, CONNECT, async (note) => {
    requireMayAddConnections(ctx.caller.principal);
    const integration = await visibleIntegration(ctx, input.integration);
    note.integrationId = integration.id;
    const link = await newConnectionLink(ctx, integration.id, input.name);
    note.detail['connectLink'] = 'link' in link;
    if ('noLink' in link) return jsonResult({ error: { code: 'invalid_request', message: link.noLink } }, true);
    return jsonResult({ integration: integration.id, name: integration.name, ...linkFields(link) });
  });
}
