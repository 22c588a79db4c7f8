import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { McpCaller, McpDeps, ToolContext } from './context.ts';
import { LIST_CONNECTIONS, listConnections, listConnectionsTool } from './list-connections.ts';
import { CALL_API, callApi, callApiTool } from './call-api.ts';
import { CONNECTION_STATUS, connectionStatus, connectionStatusTool } from './connection-status.ts';
import { CONNECT, connect, connectTool } from './connect.ts';

const INSTRUCTIONS = [
  'Keyway lets you call third-party APIs (Google, Slack, GitHub, …) through connections people made; you never see their tokens.',
  'Start with list_connections. Call an API with call_api {connection, method, path} — path relative to the connection\'s API base URL.',
  'When a connection needs re-authentication, or the person has no connection to a service yet, connection_status or connect gives a link:',
  'show it to the person, wait until they say they have connected, then retry.',
].join(' ');

/**
 * An MCP server for one caller (an API key's principal): the tools see only what the key may use,
 * and call providers through the gateway as the key's member.
 */
export function createMcpServer(deps: McpDeps, caller: McpCaller): McpServer {
  const server = new McpServer({ name: 'keyway', version: '0.1.0' }, { instructions: INSTRUCTIONS });
  const ctx: ToolContext = { deps, caller, actor: caller.actor };
  server.registerTool(LIST_CONNECTIONS, listConnectionsTool, (args) => listConnections(ctx, args));
  server.registerTool(CALL_API, callApiTool, (args) => callApi(ctx, args));
  server.registerTool(CONNECTION_STATUS, connectionStatusTool, (args) => connectionStatus(ctx, args));
  server.registerTool(CONNECT, connectTool, (args) => connect(ctx, args));
  return server;
}
