import { iso } from '../core/clock.ts';
import type { StartedSession } from '../connect/index.ts';
import type { ToolContext } from './context.ts';
import type { VisibleConnection } from './visible.ts';

/** A link the person opens to connect (or reconnect), with what the assistant should do with it. */
export interface ConnectLink {
  connectUrl: string;
  session: string;
  expiresAt: string;
  instructions: string;
  /** Re-authentication by someone other than the owner makes them the owner (as POST /v1/connections/{id}/reauthorize). */
  transfersOwnership?: boolean;
}

/** A link, or why there is none (said to the assistant, to pass on). */
export type LinkOutcome = { link: ConnectLink } | { noLink: string };

function linkOf(started: StartedSession, retry: string, extra = ''): ConnectLink {
  const expires = iso(started.session.expiresAt);
  return {
    connectUrl: started.connectUrl ?? '',
    session: started.session.id,
    expiresAt: expires,
    instructions: 'Show this link to the person and ask them to open it in their browser, sign in to the provider and approve access. '
      + `Keyway never shows you their password or tokens.${extra} When they say they are done, ${retry}. The link expires at ${expires}.`,
  };
}

/**
 * Re-authentication of an OAuth connection: a link only where the REST API would give one
 * (POST /v1/connections/{id}/reauthorize: the caller may manage the connection), else why not.
 */
export async function reauthLink(ctx: ToolContext, v: VisibleConnection): Promise<LinkOutcome> {
  const { c, access } = v;
  if (c.kind === 'client_credentials') return { noLink: 'No person can fix this connection: the provider refused the integration\'s client credentials. An admin must update the integration in Keyway.' };
  if (c.kind !== 'oauth2') return { noLink: 'The stored API key or password was refused. An admin must replace the connection in Keyway with a valid credential.' };
  if (!access.canManage) {
    return { noLink: access.via === 'shared:use'
      ? 'This connection is shared with the person to use only: ask its owner or an admin to reconnect it in Keyway.'
      : 'This API key may only use connections, so it cannot start a reconnection. The person can reconnect it in Keyway (or give you a key that may manage connections).' };
  }
  const { principal } = ctx.caller;
  const started = await ctx.deps.connect.createReauthSession(principal.orgId, ctx.actor, principal.memberId, c.id);
  if (started.connectUrl === null) return { noLink: 'This connection reconnects without a browser link; reconnect it in Keyway.' };
  const transfers = c.ownerMemberId !== principal.memberId;
  const link = linkOf(started, `retry what you were doing (connection_status with "${c.id}" tells whether it is active again)`,
    transfers ? ' Whoever signs in becomes the connection\'s owner: their account replaces the one it had.' : '');
  return { link: transfers ? { ...link, transfersOwnership: true } : link };
}

/** A new connection to an integration. */
export async function newConnectionLink(ctx: ToolContext, integration: string, name: string | undefined): Promise<LinkOutcome> {
  const { principal } = ctx.caller;
  const started = await ctx.deps.connect.createSession(principal.orgId, ctx.actor, principal.memberId, { integration, name });
  if (started.connectUrl === null) return { noLink: 'This integration connects without a browser link; ask an admin to create the connection in Keyway.' };
  return { link: linkOf(started, 'call list_connections to find the new connection, then carry on with call_api') };
}

/** The outcome as fields of a tool answer. */
export function linkFields(o: LinkOutcome): Record<string, unknown> {
  return 'link' in o ? { ...o.link } : { noConnectLink: o.noLink };
}
