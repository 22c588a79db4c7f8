import { z } from 'zod';
import { auditWithin, requireManage } from '../../access/index.ts';
import { AUDIT_ACTIONS } from '../../audit/index.ts';
import { presentAudit } from '../present.ts';
import { pageQuery } from '../route.ts';
import type { RouteDeps } from './deps.ts';

/**
 * How long a read of the log waits for the entries queued before it to be stored. Entries the
 * database refuses for now (locked, full, down) are held and tried again; the read does not wait
 * for those beyond this.
 */
const FLUSH_WAIT_MS = 2000;

function settledWithin(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((r) => { timer = setTimeout(r, ms); });
  return Promise.race([p, waited]).finally(() => clearTimeout(timer));
}

export function auditRoutes({ def, services }: RouteDeps): void {
  def({
    method: 'GET', url: '/v1/audit', tag: 'audit', summary: 'The audit log, newest first',
    query: z.strictObject({
      integration: z.string().max(100).optional(),
      connection: z.string().max(100).optional(),
      action: z.enum(AUDIT_ACTIONS).optional(), // a misspelt action is refused, not an empty page
      actor: z.string().max(100).optional(),
      since: z.iso.datetime().optional(),
      until: z.iso.datetime().optional(),
      ...pageQuery,
    }),
    // A key limited to some integrations or connections reads their entries only, filtered in the query (full pages).
    handler: async ({ query, principal }) => {
      requireManage(principal);
      await settledWithin(services.audit.flush(), FLUSH_WAIT_MS);
      const page = await services.store.audit.query(principal.orgId, {
        integrationId: query.integration, connectionId: query.connection, action: query.action, actorId: query.actor,
        since: query.since ? Date.parse(query.since) : undefined, until: query.until ? Date.parse(query.until) : undefined,
        ...auditWithin(principal),
      }, { limit: query.limit, cursor: query.cursor });
      return { data: page.data.map(presentAudit), nextCursor: page.nextCursor };
    },
  });
}
