export { createMcpServer } from './server.ts';
export { type McpCaller, type McpDeps, DEFAULT_BODY_LIMIT } from './context.ts';
export { type GatewayClient, type GatewayRequest, type GatewayResponse, type SelfGatewayOptions, selfGateway } from './gateway-call.ts';
export { isTextBody, pagingAdvice, showBody } from './body.ts';
