import { z } from 'zod';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { auditPath } from '../proxy/index.ts';
import { type AuditNote, DEFAULT_BODY_LIMIT, type ToolContext, audited } from './context.ts';
import { type QueryValue, gatewayTarget, requestBody, requestHeaders } from './call-request.ts';
import type { GatewayResponse } from './gateway-call.ts';
import { showBody } from './body.ts';
import { linkFields, reauthLink } from './connect-link.ts';
import { type VisibleConnection, visibleConnection } from './visible.ts';

export const CALL_API = 'call_api';

const scalar = z.union([z.string().max(2000), z.number(), z.boolean()]);

export const callApiInput = {
  connection: z.string().min(1).max(100).describe('The connection id (conn_…), from list_connections.'),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET').describe('HTTP method; default GET.'),
  path: z.string().max(4000).describe('Path below the connection\'s API base URL, e.g. "/users/me" (not a full URL).'),
  query: z.record(z.string().max(200), z.union([scalar, z.array(scalar).max(100)])).optional().describe('Query parameters, e.g. {"limit": 20}.'),
  body: z.unknown().optional().describe('JSON request body (for POST, PUT, PATCH).'),
  headers: z.record(z.string().max(200), z.string().max(4000)).optional().describe('Extra request headers, e.g. {"Accept": "application/json"} or {"Range": "bytes=0-16383"}. Keyway adds the credential itself.'),
  baseUrl: z.string().max(2000).optional().describe('One of the connection\'s other apiBaseUrls, when the provider has several; default the first.'),
};

export interface CallApiInput {
  connection: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  path: string;
  query?: Record<string, QueryValue | QueryValue[]> | undefined;
  body?: unknown;
  headers?: Record<string, string> | undefined;
  baseUrl?: string | undefined;
}

export const callApiTool = {
  title: 'Call a provider API',
  description: 'Calls the provider\'s API through a connection, as the person who connected it: Keyway adds the credential, refreshes it when needed '
    + 'and records the call. Returns the provider\'s status, a few useful headers (and Keyway\'s hint when it has advice) and the body — large '
    + 'bodies cut with a note on how to page, binary bodies described. A 4xx/5xx from the provider is passed through as an error result.',
  inputSchema: callApiInput,
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
};

/** Response headers worth a model's attention; everything else is left out. */
const SHOWN_HEADERS = ['content-type', 'content-length', 'content-range', 'accept-ranges', 'location', 'link', 'retry-after', 'www-authenticate', 'x-ratelimit-remaining', 'x-ratelimit-reset'];

function header(h: GatewayResponse['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export function callApi(ctx: ToolContext, input: CallApiInput): Promise<CallToolResult> {
  return audited(ctx, CALL_API, async (note) => {
    const target = gatewayTarget(input.path, input.query);
    const where = auditPath(target.split('?', 1)[0]!, target.includes('?') ? target.slice(target.indexOf('?') + 1) : null);
    Object.assign(note.detail, { method: input.method, path: where.path, query: where.query });
    let visible: VisibleConnection;
    try {
      visible = await visibleConnection(ctx, input.connection);
    } catch (e) {
      note.detail['requestedConnection'] = input.connection.slice(0, 100);
      throw e;
    }
    const connection = visible.c;
    note.connectionId = connection.id;
    note.integrationId = connection.integrationId;
    const headers = requestHeaders(input.headers);
    if (input.baseUrl !== undefined) headers['keyway-base-url'] = input.baseUrl;
    const body = input.method === 'GET' || input.method === 'HEAD' ? null : requestBody(input.body, headers);
    const limit = ctx.deps.bodyLimit ?? DEFAULT_BODY_LIMIT;
    const res = await ctx.deps.gateway.call({
      authorization: ctx.caller.authorization, connection: connection.id, method: input.method, target, headers, body, keep: limit,
    });
    note.detail['status'] = res.status;
    const keywayError = header(res.headers, 'keyway-error');
    if (keywayError !== undefined) return keywayRefusal(ctx, visible, res, keywayError, note);
    return providerAnswer(ctx, visible, res, limit, note);
  });
}

/** Keyway's own refusal (Keyway-Error): its message, and a connect link when the person must reconnect. */
async function keywayRefusal(ctx: ToolContext, v: VisibleConnection, res: GatewayResponse, code: string, note: AuditNote): Promise<CallToolResult> {
  note.detail['code'] = code;
  let message = `Keyway refused the call (${code}).`;
  try {
    const parsed = JSON.parse(res.kept.toString('utf8')) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === 'string') message = parsed.error.message;
  } catch {
    // an error body cut short: the code alone is said
  }
  const out: Record<string, unknown> = { error: { code, message, status: res.status } };
  const retryAfter = header(res.headers, 'retry-after');
  if (retryAfter !== undefined) out['retryAfterSeconds'] = Number(retryAfter);
  if (code === 'needs_reauth') {
    // Judged from the stored status, not the header alone (a provider's response could carry one).
    const now = await ctx.deps.store.connections.get(v.c.orgId, v.c.id);
    if (now?.status === 'needs_reauth') {
      const link = await reauthLink(ctx, { ...v, c: now });
      Object.assign(out, linkFields(link));
      note.detail['connectLink'] = 'link' in link;
    }
  }
  return { content: [{ type: 'text', text: JSON.stringify(out, null, 2) }], isError: true };
}

/** The provider's answer: status, a few headers, Keyway's hint, and the body sized for a model. */
async function providerAnswer(ctx: ToolContext, v: VisibleConnection, res: GatewayResponse, limit: number, note: AuditNote): Promise<CallToolResult> {
  const length = header(res.headers, 'content-length');
  const shown = showBody({
    contentType: header(res.headers, 'content-type'), contentLength: length === undefined || !/^\d+$/.test(length) ? null : Number(length),
    kept: res.kept, read: res.read, complete: res.complete, limit,
    link: header(res.headers, 'link'), acceptRanges: header(res.headers, 'accept-ranges'),
  });
  Object.assign(note.detail, { bytes: shown.size ?? res.read, truncated: shown.truncated, ...(shown.kind === 'binary' ? { binary: true } : {}) });
  const lines = [`HTTP ${res.status}${res.status >= 400 ? ' (an error from the provider, passed through)' : ''}`];
  for (const name of SHOWN_HEADERS) {
    const v = header(res.headers, name);
    if (v !== undefined) lines.push(`${name}: ${v.slice(0, 1000)}`);
  }
  const hint = header(res.headers, 'keyway-hint');
  if (hint !== undefined) lines.push(`Keyway-Hint: ${hint}`);
  if (shown.note !== null) lines.push('', shown.note);
  if (shown.kind === 'empty') lines.push('', '(empty body)');
  const content: CallToolResult['content'] = [{ type: 'text', text: lines.join('\n') }];
  if (shown.kind !== 'empty') content.push({ type: 'text', text: shown.text });
  if (res.status === 401 && v.c.kind === 'oauth2') {
    // The provider refused the token and Keyway could not refresh it: the person must reconnect.
    const now = await ctx.deps.store.connections.get(v.c.orgId, v.c.id);
    if (now?.status === 'needs_reauth') {
      const link = await reauthLink(ctx, { ...v, c: now });
      content.push({ type: 'text', text: JSON.stringify(linkFields(link), null, 2) });
      note.detail['connectLink'] = 'link' in link;
    }
  }
  return { content, ...(res.status >= 400 ? { isError: true } : {}) };
}
