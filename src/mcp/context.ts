import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isKeywayError } from '../core/errors.ts';
import type { Principal } from '../access/index.ts';
import type { Actor, AuditEvent } from '../audit/index.ts';
import type { ConnectService } from '../connect/index.ts';
import type { IntegrationService } from '../integrations/index.ts';
import type { Store } from '../store/index.ts';
import type { TokenService } from '../tokens/index.ts';
import type { GatewayClient } from './gateway-call.ts';

/** What the MCP tools are built from; `Services` (src/http/services.ts) provides all of it. */
export interface McpDeps {
  store: Store;
  tokens: Pick<TokenService, 'use' | 'reviewStatus'>;
  integrations: Pick<IntegrationService, 'list' | 'get' | 'resolved' | 'definition'>;
  connect: Pick<ConnectService, 'createSession' | 'createReauthSession'>;
  audit: { record(e: AuditEvent): void };
  /** Calls go through the real gateway, as the caller: see `gateway-call.ts`. */
  gateway: GatewayClient;
  /** Unexpected failures (never shown to the assistant). */
  onError: (e: unknown, tool: string) => void;
  /** Largest body shown to the model, in bytes. Default 16 KB. */
  bodyLimit?: number;
}

/**
 * Who is calling: the API key's principal, what its actions are audited as (the HTTP layer decides
 * both, as for every API call), and the `Authorization` header the gateway is called with.
 */
export interface McpCaller {
  principal: Principal;
  actor: Actor;
  authorization: string;
}

export interface ToolContext {
  deps: McpDeps;
  caller: McpCaller;
  actor: Actor;
}

/** What a tool adds to its audit entry: ids and safe facts (never a header value, token or body). */
export interface AuditNote {
  integrationId: string | null;
  connectionId: string | null;
  detail: Record<string, unknown>;
}

export const DEFAULT_BODY_LIMIT = 16 * 1024;

export function textResult(text: string, isError = false): CallToolResult {
  return { content: [{ type: 'text', text }], ...(isError ? { isError: true } : {}) };
}

export function jsonResult(value: unknown, isError = false): CallToolResult {
  return textResult(JSON.stringify(value, null, 2), isError);
}

/**
 * Runs one tool call and audits it like a proxied call (`mcp.tool_call`, the tool's name, what the
 * tool noted, outcome and duration). A KeywayError becomes an error result carrying its code and
 * message (they are written to be shown); anything else is reported to `onError` and answered
 * with a generic message.
 */
export async function audited(ctx: ToolContext, tool: string, run: (note: AuditNote) => Promise<CallToolResult>): Promise<CallToolResult> {
  const started = performance.now();
  const note: AuditNote = { integrationId: null, connectionId: null, detail: {} };
  let result: CallToolResult;
  try {
    result = await run(note);
  } catch (e) {
    if (isKeywayError(e)) {
      note.detail['code'] = e.code;
      result = jsonResult({ error: { code: e.code, message: e.message } }, true);
    } else {
      ctx.deps.onError(e, tool);
      note.detail['code'] = 'internal';
      result = jsonResult({ error: { code: 'internal', message: 'An unexpected error occurred; the server log has the details.' } }, true);
    }
  }
  ctx.deps.audit.record({
    orgId: ctx.caller.principal.orgId, actor: ctx.actor, action: 'mcp.tool_call', outcome: result.isError ? 'error' : 'ok',
    integrationId: note.integrationId, connectionId: note.connectionId,
    detail: { tool, ...note.detail, durationMs: Math.round(performance.now() - started) },
  });
  return result;
}
