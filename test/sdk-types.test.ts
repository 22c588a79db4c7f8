/**
 * The SDK's types (src/sdk/types.ts) against what the server answers: at compile time against the
 * server's own `present…` functions (`tsc --noEmit` is part of `npm test`), and at run time against
 * live answers, field for field. A field added, renamed or retyped on one side fails here.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type * as sdk from 'keyway/sdk';
import { Keyway } from 'keyway/sdk';
import type { presentAudit, presentIntegration, presentMember, presentProvider, presentSession, presentStartedSession } from '../src/http/present.ts';
import type { presentInvite } from '../src/http/routes/invites.ts';
import type { presentDelivery, presentEndpoint } from '../src/http/routes/webhooks.ts';
import type { presentVisible } from '../src/http/routes/connection-sharing.ts';
import type { presentApiKey } from '../src/http/routes/api-keys.ts';
import type { presentToken } from '../src/http/routes/token.ts';
import { type TestKeyway, addIntegration, connectInBrowser, startProvider, startTestKeyway } from './helpers/keyway.ts';
import type { SandboxServer } from '../src/sandbox/index.ts';

/** Every field name of any member of a union (an answer with or without its device-flow fields). */
type AnyKey<T> = T extends unknown ? keyof T : never;
/**
 * True when every answer of type `Server` is an `Sdk` and the other way round (no field typed wider
 * or narrower), and `Sdk` names no field the server never sends.
 */
type Fits<Server, Sdk> = [Server] extends [Sdk] ? [Sdk] extends [Server] ? ([Exclude<keyof Sdk, AnyKey<Server>>] extends [never] ? true : false) : false : false;
const fits = <T extends true>(_proof: T): void => undefined;

fits<Fits<ReturnType<typeof presentVisible>, sdk.Connection>>(true);
fits<Fits<ReturnType<typeof presentIntegration>, sdk.Integration>>(true);
fits<Fits<ReturnType<typeof presentSession>, sdk.ConnectSession>>(true);
fits<Fits<ReturnType<typeof presentStartedSession>, sdk.StartedConnectSession>>(true);
fits<Fits<ReturnType<typeof presentAudit>, sdk.AuditEntry>>(true);
fits<Fits<ReturnType<typeof presentApiKey>, sdk.ApiKey>>(true);
fits<Fits<ReturnType<typeof presentToken>, sdk.AccessToken>>(true);
fits<Fits<ReturnType<typeof presentMember>, sdk.Member>>(true);
fits<Fits<ReturnType<typeof presentProvider>, sdk.Provider>>(true);
fits<Fits<ReturnType<typeof presentInvite>, sdk.Invite>>(true);
fits<Fits<ReturnType<typeof presentEndpoint>, sdk.WebhookEndpoint>>(true);
fits<Fits<ReturnType<typeof presentDelivery>, sdk.WebhookDelivery>>(true);

/** Each type's fields, checked complete and exact by `satisfies` (a missing or extra one does not compile). */
const CONNECTION = {
  id: 1, name: 1, integration: 1, type: 1, externalId: 1, metadata: 1, params: 1, providerValues: 1, account: 1, status: 1,
  statusReason: 1, statusSince: 1, requestedScopes: 1, grantedScopes: 1, missingScopes: 1, newIntegrationScopes: 1, scopeNote: 1,
  hasRefreshToken: 1, accessTokenExpiresAt: 1, refreshTokenExpiresAt: 1, createdAt: 1, lastRefreshedAt: 1, sharing: 1,
  shareLevel: 1, owner: 1, authorizedByFormerMember: 1, ownerNote: 1, access: 1,
} satisfies Record<keyof sdk.Connection, 1>;
const INTEGRATION = {
  id: 1, provider: 1, name: 1, clientId: 1, hasClientSecret: 1, hasPrivateKey: 1, scopes: 1, redirectUri: 1, endpoints: 1,
  pushedAuthorization: 1, createdAt: 1, updatedAt: 1,
} satisfies Record<keyof sdk.Integration, 1>;
const API_KEY = {
  id: 1, name: 1, prefix: 1, member: 1, scope: 1, rateLimitPerMinute: 1, createdAt: 1, lastUsedAt: 1, revokedAt: 1, expiresAt: 1, replacedBy: 1,
} satisfies Record<keyof sdk.ApiKey, 1>;
const AUDIT_ENTRY = { id: 1, at: 1, actor: 1, action: 1, outcome: 1, integration: 1, connection: 1, detail: 1 } satisfies Record<keyof sdk.AuditEntry, 1>;
const ME = { member: 1, org: 1, role: 1, via: 1, apiKey: 1, session: 1 } satisfies Record<keyof sdk.Me, 1>;
const MEMBER = { id: 1, email: 1, name: 1, role: 1, singleSignOn: 1, createdAt: 1, removedAt: 1 } satisfies Record<keyof sdk.Member, 1>;
const ACCESS_TOKEN = { accessToken: 1, tokenType: 1, expiresAt: 1, scopes: 1 } satisfies Record<keyof sdk.AccessToken, 1>;

const keys = (o: object): string[] => Object.keys(o).sort();

let t: TestKeyway;
let provider: SandboxServer;
before(async () => {
  provider = await startProvider();
  t = await startTestKeyway();
});
after(async () => {
  await t.close();
  await provider.close();
});

test('live answers have exactly the fields the SDK\'s types name', async () => {
  const integration = await addIntegration(t, provider, { apiBaseUrl: `${provider.issuer}/api` });
  const run = await connectInBrowser(t, provider, integration.id, { username: 'tess' });
  assert.equal(run.page.status, 200);
  const keyway = new Keyway({ url: t.kw.url, apiKey: t.apiKey });
  const session = await keyway.connectSessions.get(run.sessionId);
  const conn = session.connection ?? '';
  assert.deepEqual(keys(await keyway.connections.get(conn)), keys(CONNECTION));
  assert.deepEqual(keys((await keyway.connections.list()).data[0] ?? {}), keys(CONNECTION));
  assert.deepEqual(keys(await keyway.integrations.get(integration.id)), keys(INTEGRATION));
  assert.deepEqual(keys(await keyway.connections.token(conn)), keys(ACCESS_TOKEN));
  const made = await keyway.apiKeys.create({ name: 'fields' });
  assert.deepEqual(keys(made), [...keys(API_KEY), 'key'].sort());
  assert.deepEqual(keys(await keyway.apiKeys.get(made.id)), keys(API_KEY));
  assert.deepEqual(keys((await keyway.audit.list({ connection: conn })).data[0] ?? {}), keys(AUDIT_ENTRY));
  const me = await keyway.me();
  assert.deepEqual(keys(me), keys(ME));
  assert.deepEqual(keys(me.member), keys(MEMBER));
});
