import { iso } from '../core/clock.ts';
import type { ConnectionRecord, IntegrationRecord } from '../store/index.ts';
import type { AccessVia } from '../access/index.ts';
import type { McpDeps } from './context.ts';

/** A connection as an assistant sees it: what it is, whether it works, and what it can reach. Never a token. */
export interface ConnectionView {
  id: string;
  name: string;
  provider: string;
  providerName: string;
  integration: string;
  integrationName: string;
  type: ConnectionRecord['kind'];
  account: string | null;
  /** Why the caller may use it: their own, shared with them (use / manage), or as an admin. */
  access: AccessVia;
  status: ConnectionRecord['status'];
  statusReason: string | null;
  statusSince: string;
  /** Where `call_api` paths go: below one of these (the first is the default). */
  apiBaseUrls: string[];
  /** What the person granted. */
  scopes: string[];
  docs: string | null;
}

export function viewConnection(deps: Pick<McpDeps, 'integrations'>, c: ConnectionRecord, access: AccessVia, integration: IntegrationRecord | undefined): ConnectionView {
  let apiBaseUrls: string[] = [];
  let providerName = integration?.provider ?? 'unknown';
  let docs: string | null = null;
  if (integration) {
    try {
      const resolved = deps.integrations.resolved(integration, { params: c.params, kept: c.providerValues });
      apiBaseUrls = resolved.apiBaseUrls.map((u) => u.replace(/\/+$/, ''));
      providerName = resolved.definition.name;
      docs = resolved.definition.docs ?? null;
    } catch {
      apiBaseUrls = []; // a connection value the policy refuses: call_api says why when it is used
    }
  }
  return {
    id: c.id, name: c.name, provider: integration?.provider ?? 'unknown', providerName,
    integration: c.integrationId, integrationName: integration?.name ?? c.integrationId, type: c.kind,
    account: c.accountLabel ?? c.accountSubject, access, status: c.status, statusReason: c.statusReason, statusSince: iso(c.statusSince),
    apiBaseUrls, scopes: c.grantedScopes, docs,
  };
}

/** What an assistant should say about a status. */
export function statusAdvice(c: Pick<ConnectionRecord, 'status' | 'kind'>): string {
  if (c.status === 'active') return 'The connection works: call_api can use it.';
  if (c.status === 'refresh_failing') return 'Refreshing the token is failing for now (the provider had trouble); calls still work while the current token lasts. Retry shortly.';
  if (c.kind === 'oauth2') return 'The connection needs the person to sign in to the provider again before it can be used.';
  if (c.kind === 'client_credentials') return 'The provider refused the integration\'s client credentials; an admin must fix the integration in Keyway.';
  return 'The stored credential was refused; an admin must update the connection in Keyway.';
}
