import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { type Store, openSqliteStore } from '../src/store/index.ts';
import { type TestKeyway, addIntegration, connectInBrowser, startProvider, startTestKeyway } from './helpers/keyway.ts';

/**
 * The token cache is kept honest by a narrow re-check of cached rows (CacheCheck, one query
 * per 500) instead of a full-row read per connection per second. Changes written by another
 * process — here a second handle on the same SQLite file, as `keyway` CLI commands or a second
 * server would write — reach callers within a second; unchanged rows stay cached.
 */
describe('token cache: cached rows re-checked in batches', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let integration: string;
  let other: Store; // "another process"

  const connect = async (username: string): Promise<string> => {
    const run = await connectInBrowser(t, provider, integration, { username, session: { externalId: username } });
    assert.match(run.page.text, /Connected!/, run.page.text);
    return (await t.api('GET', `/v1/connections?externalId=${username}`)).body.data[0].id;
  };
  /** Polls GET /token until `done` says so or 1.5 s pass; returns the last answer and how long it took. */
  const tokenUntil = async (id: string, done: (status: number) => boolean) => {
    const start = performance.now();
    for (;;) {
      const r = await t.api('GET', `/v1/connections/${id}/token`);
      if (done(r.status) || performance.now() - start > 1500) return { r, ms: performance.now() - start };
      await new Promise((res) => setTimeout(res, 20));
    }
  };

  before(async () => {
    provider = await startProvider();
    t = await startTestKeyway();
    integration = (await addIntegration(t, provider)).id;
    other = openSqliteStore(join(t.dataDir, 'keyway.db'));
  });
  after(async () => {
    await other.close();
    await t.close();
    await provider.close();
  });

  test('an unchanged cached row passes the re-checks and stays cached past a second; a changed one is dropped', async () => {
    const id = await connect('steady');
    const orgId = t.kw.orgId;
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 200);
    const tokens = t.kw.services.tokens;
    const entry = tokens.cached(orgId, id);
    assert.ok(entry, 'the token read left the row and token cached');
    // An entry not re-checked for a second is no longer served; this one is, because the
    // background check found the stored row unchanged each time.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(tokens.cached(orgId, id), entry, 'still served from the cache after 1.5 s');
    await other.connections.update(orgId, id, { name: 'renamed elsewhere', updatedAt: t.clock.now() + 1 });
    const start = performance.now();
    while (tokens.cached(orgId, id) !== undefined && performance.now() - start < 1500) await new Promise((r) => setTimeout(r, 10));
    assert.equal(tokens.cached(orgId, id), undefined, 'the row changed in the other process: its entry is dropped');
    assert.ok(performance.now() - start < 1000, `dropped after ${Math.round(performance.now() - start)} ms`);
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 200, 'the next read loads the row again');
    assert.notEqual(tokens.cached(orgId, id), undefined);
  });

  test('a connection turned needs_reauth by another process is refused within a second', async () => {
    const id = await connect('marked');
    const orgId = t.kw.orgId;
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 200);
    await other.connections.update(orgId, id, { status: 'needs_reauth', statusReason: 'Revoked elsewhere. Reconnect it.', updatedAt: t.clock.now() + 1 });
    const { r, ms } = await tokenUntil(id, (s) => s !== 200);
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.headers.get('keyway-error'), 'needs_reauth');
    assert.match(r.body.error.message, /Revoked elsewhere/);
    assert.ok(ms < 1000, `seen after ${Math.round(ms)} ms`);
  });

  test('a connection deleted by another process is gone within a second, through the gateway too', async () => {
    const id = await connect('deleted');
    const orgId = t.kw.orgId;
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 200);
    await other.connections.delete(orgId, id);
    const { r, ms } = await tokenUntil(id, (s) => s !== 200);
    assert.equal(r.status, 404);
    assert.ok(ms < 1000, `seen after ${Math.round(ms)} ms`);
    const proxied = await t.api('GET', `/v1/proxy/${id}/api/me`);
    assert.equal(proxied.status, 404);
  });

  test('a token answer is never cached by the caller, on the fast path and through the router alike', async () => {
    const id = await connect('nostore');
    const fast = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(fast.headers.get('cache-control'), 'no-store');
    assert.equal(fast.headers.get('content-type'), 'application/json; charset=utf-8');
    const routed = await t.kw.app.inject({ method: 'GET', url: `/v1/connections/${id}/token`, headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(routed.statusCode, 200);
    assert.equal(routed.headers['cache-control'], 'no-store');
    assert.deepEqual(JSON.parse(routed.body), fast.body, 'both paths answer the same');
  });
});
