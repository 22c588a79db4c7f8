import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { type FakeAnswer, FakeProvider, type FakeRequest, addFakeIntegration, builtin, connectThroughFake } from './helpers/fake-provider.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** How one provider answers: its token shape, its lifetime, and how it says a refresh token is dead. */
interface Shape {
  id: string;
  scopes: string[];
  lifetimeMs: number;
  tokens(access: string, refresh: string): Record<string, unknown>;
  dead: { status: number; json: unknown };
}

// Response shapes as each provider documents them.
const SHAPES: Shape[] = [
  {
    id: 'box', scopes: [], lifetimeMs: HOUR,
    tokens: (a, r) => ({ access_token: a, expires_in: 3600, restricted_to: [], refresh_token: r, token_type: 'bearer' }),
    dead: { status: 400, json: { error: 'invalid_grant', error_description: 'Refresh token has expired' } },
  },
  {
    id: 'xero', scopes: ['offline_access', 'accounting.transactions'], lifetimeMs: 30 * MIN,
    tokens: (a, r) => ({ access_token: a, expires_in: 1800, token_type: 'Bearer', refresh_token: r, scope: 'offline_access accounting.transactions' }),
    dead: { status: 400, json: { error: 'invalid_grant' } },
  },
  {
    id: 'quickbooks', scopes: ['com.intuit.quickbooks.accounting'], lifetimeMs: HOUR,
    tokens: (a, r) => ({ token_type: 'bearer', expires_in: 3600, refresh_token: r, x_refresh_token_expires_in: 8726400, access_token: a }),
    dead: { status: 400, json: { error: 'invalid_grant' } },
  },
  {
    id: 'atlassian', scopes: ['read:me', 'offline_access'], lifetimeMs: HOUR,
    tokens: (a, r) => ({ access_token: a, expires_in: 3600, token_type: 'Bearer', refresh_token: r, scope: 'read:me offline_access' }),
    dead: { status: 403, json: { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' } },
  },
  {
    id: 'zoom', scopes: [], lifetimeMs: HOUR,
    tokens: (a, r) => ({ access_token: a, token_type: 'bearer', refresh_token: r, expires_in: 3599, scope: 'user:read:user', api_url: 'https://api.zoom.us' }),
    dead: { status: 400, json: { reason: 'Invalid Token!', error: 'invalid_request' } },
  },
];

/**
 * One fake serving every provider above (their paths differ by host). Refresh tokens are single-use;
 * `graceMs` lets a used one work once more within that time (Xero), and `loseNext` drops the
 * connection after the provider has already rotated (the answer is lost on the way back).
 */
class RotatingTokens {
  readonly live = new Map<string, { usedAt: number | null }>();
  graceMs = 0;
  loseNext = false;
  #n = 0;
  answer(shape: Shape, req: FakeRequest): FakeAnswer {
    if (req.form.get('grant_type') === 'refresh_token') {
      const sent = req.form.get('refresh_token') ?? '';
      const state = this.live.get(sent);
      const now = Date.now();
      if (!state || (state.usedAt !== null && now - state.usedAt > this.graceMs)) return shape.dead;
      if (state.usedAt === null && this.graceMs > 0) state.usedAt = now;
      else this.live.delete(sent);
    }
    const n = ++this.#n;
    const refresh = `${shape.id}-refresh-${n}`;
    this.live.set(refresh, { usedAt: null });
    if (this.loseNext) {
      this.loseNext = false;
      return 'reset';
    }
    return { json: shape.tokens(`${shape.id}-access-${n}`, refresh) };
  }
}

describe('rotating refresh tokens (Box, Xero, QuickBooks, Atlassian, Zoom) replayed on 127.0.0.1', () => {
  let t: TestKeyway;
  let fake: FakeProvider;
  const rotating = new RotatingTokens();
  const integrations = new Map<string, string>();

  before(async () => {
    fake = await FakeProvider.start();
    t = await startTestKeyway();
    for (const shape of SHAPES) integrations.set(shape.id, (await addFakeIntegration(t, fake, shape.id, { scopes: shape.scopes })).id);
    fake.token = (req) => {
      const shape = SHAPES.find((s) => req.path.startsWith(`/${new URL(builtin(s.id).tokenUrl ?? '').host}/`));
      if (!shape) return { status: 404, json: { error: 'unknown provider path' } };
      rotating.graceMs = shape.id === 'xero' ? 30 * MIN : 0;
      return rotating.answer(shape, req);
    };
  });
  after(async () => {
    await t?.close();
    await fake?.close();
  });

  const connect = async (shape: Shape): Promise<string> => {
    const run = await connectThroughFake(t, integrations.get(shape.id) ?? '');
    assert.match(run.page.text, /Connected!/, `${shape.id}: ${run.page.text}`);
    return run.connection.id as string;
  };
  const refreshTokensSent = () => fake.tokenRequests().filter((r) => r.form.get('grant_type') === 'refresh_token').map((r) => r.form.get('refresh_token'));

  for (const shape of SHAPES) {
    test(`${shape.id}: every refresh stores the new refresh token and the next refresh uses it; a dead one turns the connection needs_reauth`, async () => {
      const id = await connect(shape);
      const before = refreshTokensSent().length;
      for (let round = 0; round < 3; round++) {
        t.clock.advance(shape.lifetimeMs);
        const res = await t.api('GET', `/v1/connections/${id}/token`);
        assert.equal(res.status, 200, `${shape.id} round ${round}: ${JSON.stringify(res.body)}`);
        assert.match(res.body.accessToken, new RegExp(`^${shape.id}-access-`));
      }
      const sent = refreshTokensSent().slice(before);
      assert.equal(sent.length, 3);
      assert.equal(new Set(sent).size, 3, `${shape.id} used each refresh token once: ${sent.join(', ')}`);
      rotating.live.clear(); // the provider forgets them all (revoked, or 90 days unused)
      t.clock.advance(shape.lifetimeMs);
      const dead = await t.api('GET', `/v1/connections/${id}/token`);
      assert.equal(dead.status, 409, `${shape.id}: ${JSON.stringify(dead.body)}`);
      assert.equal(dead.headers.get('keyway-error'), 'needs_reauth');
      const c = (await t.api('GET', `/v1/connections/${id}`)).body;
      assert.equal(c.status, 'needs_reauth');
      assert.match(c.statusReason, /invalid_grant/);
    });
  }

  test('QuickBooks: x_refresh_token_expires_in becomes the connection\'s refresh-token expiry', async () => {
    const shape = SHAPES.find((s) => s.id === 'quickbooks') as Shape;
    const connectedAt = t.clock.now();
    const id = await connect(shape);
    const c = (await t.api('GET', `/v1/connections/${id}`)).body;
    assert.equal(c.refreshTokenExpiresAt, new Date(connectedAt + 8726400 * 1000).toISOString());
  });

  test('Xero: a refresh whose answer was lost after Xero rotated is retried with the same token inside the 30-minute grace, and succeeds', async () => {
    const shape = SHAPES.find((s) => s.id === 'xero') as Shape;
    const id = await connect(shape);
    t.clock.advance(30 * MIN);
    const before = refreshTokensSent().length;
    rotating.loseNext = true;
    const res = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const sent = refreshTokensSent().slice(before);
    assert.equal(sent.length, 2, 'the lost call and its retry');
    assert.equal(sent[0], sent[1], 'the retry sent the same refresh token');
    assert.equal((await t.api('GET', `/v1/connections/${id}`)).body.status, 'active');
    // The refresh token from the retry's answer is the one stored: the next refresh uses it and works.
    t.clock.advance(30 * MIN);
    const next = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(next.status, 200, JSON.stringify(next.body));
    const third = refreshTokensSent().at(-1);
    assert.notEqual(third, sent[0]);
  });

  test('Box (no reuse grace): a lost refresh answer is not retried; the stored token is then dead and the connection says why', async () => {
    const shape = SHAPES.find((s) => s.id === 'box') as Shape;
    const id = await connect(shape);
    t.clock.advance(HOUR);
    const before = refreshTokensSent().length;
    rotating.loseNext = true;
    const lost = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(lost.status, 503);
    assert.equal(refreshTokensSent().length - before, 1, 'no retry without a grace period');
    const after = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(after.status, 409);
    const c = (await t.api('GET', `/v1/connections/${id}`)).body;
    assert.equal(c.status, 'needs_reauth');
    assert.match(c.statusReason, /interrupted/);
  });
});

