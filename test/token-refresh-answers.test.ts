/**
 * What Keyway makes of the token endpoint's answer to a refresh, against a strict rotating provider
 * on 127.0.0.1 (each refresh token works once): an answer lost after its headers, a rate limit with
 * Retry-After, and 200 answers that deviate from RFC 6749 §5.1 in form but carry usable tokens.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type FakeAnswer, FakeProvider, type FakeRequest, connectThroughFake } from './helpers/fake-provider.ts';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';

const HOUR = 3_600_000;

/** Single-use refresh tokens; `shape` turns the next successful refresh's answer into something else. */
class StrictRotation {
  readonly live = new Set<string>();
  readonly issued = new Set<string>();
  shape: ((body: Record<string, unknown>) => FakeAnswer) | null = null;
  /** While set, every refresh is refused with this answer before the token is looked at. */
  limited: FakeAnswer | null = null;
  #n = 0;

  answer(req: FakeRequest): FakeAnswer {
    const sent = req.form.get('refresh_token') ?? '';
    if (req.form.get('grant_type') === 'refresh_token') {
      if (this.limited) return this.limited;
      if (!this.live.delete(sent)) return { status: 400, json: { error: 'invalid_grant', error_description: 'unknown or used refresh token' } };
    }
    const n = ++this.#n;
    const body = { access_token: `at-${n}`, token_type: 'Bearer', expires_in: 3600, refresh_token: `rt-${n}`, scope: 'me' };
    this.live.add(body.refresh_token);
    this.issued.add(body.access_token);
    const shape = this.shape;
    this.shape = null;
    const answer = shape ? shape(body) : { json: body };
    // An answer carrying no usable new refresh token leaves the one sent alive (no rotation).
    const json = typeof answer === 'object' ? answer.json as Record<string, unknown> | undefined : undefined;
    if (sent && json && (typeof json['refresh_token'] !== 'string' || json['refresh_token'] === '')) {
      this.live.delete(body.refresh_token);
      this.live.add(sent);
    }
    return answer;
  }
}

describe('refresh: what the token endpoint answers', () => {
  let t: TestKeyway;
  let fake: FakeProvider;
  let integration: string;
  const provider = new StrictRotation();

  before(async () => {
    t = await startTestKeyway();
    fake = await FakeProvider.start();
    fake.token = (req) => provider.answer(req);
    const made = await t.api('POST', '/v1/integrations', {
      provider: 'custom', clientId: 'answers', clientSecret: 'answers-secret-8c1d',
      authorizationUrl: `${fake.base}/authorize`, tokenUrl: `${fake.base}/token`, scopes: ['me'],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    integration = made.body.id;
  });
  beforeEach(() => {
    provider.limited = null;
    provider.shape = null;
  });
  after(async () => {
    await t.close();
    await fake.close();
  });

  async function connect(): Promise<string> {
    const run = await connectThroughFake(t, integration);
    assert.ok(run.connection, run.page.text);
    return run.connection.id;
  }
  const refreshCalls = (): number => fake.tokenRequests().filter((r) => r.form.get('grant_type') === 'refresh_token').length;
  const connection = async (id: string) => (await t.api('GET', `/v1/connections/${id}`)).body;

  test('an answer cut off after its headers is a lost answer, not a bad one: the next invalid_grant says the refresh was interrupted', async () => {
    const id = await connect();
    provider.shape = () => 'cut-body'; // rotated at the provider, then the connection drops mid-body
    await t.api('POST', `/v1/connections/${id}/refresh`);
    await t.kw.services.audit.flush();
    const audited = (await t.api('GET', `/v1/audit?action=token.refresh&connection=${id}`)).body.data;
    assert.equal(audited.find((e: { outcome: string }) => e.outcome === 'error')?.detail.result, 'provider_unavailable');

    t.clock.advance(HOUR);
    const read = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(read.status, 409);
    const c = await connection(id);
    assert.equal(c.status, 'needs_reauth');
    assert.match(c.statusReason, /interrupted/);
    assert.doesNotMatch(c.statusReason, /revoked or expired/);
  });

  test('a 429 with Retry-After: callers are told the provider\'s wait, and the token endpoint is not called again for that connection before it passes', async () => {
    const id = await connect();
    t.clock.advance(HOUR); // expired: every read needs a refresh
    provider.limited = { status: 429, headers: { 'retry-after': '120' }, json: { error: 'rate_limited' } };
    const before = refreshCalls();
    const first = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(first.status, 503);
    assert.equal(first.headers.get('retry-after'), '120');
    for (let i = 0; i < 10; i++) {
      t.clock.advance(5_000);
      const again = await t.api('GET', `/v1/connections/${id}/token`);
      assert.equal(again.status, 503);
      const wait = Number(again.headers.get('retry-after'));
      assert.ok(wait > 0 && wait <= 120 - 5 * (i + 1), `told to wait ${wait} s`);
    }
    assert.equal(refreshCalls() - before, 1, 'one call to the token endpoint while the provider asked to wait');
    t.clock.advance(71_000);
    provider.limited = null;
    const back = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(back.status, 200);
    assert.ok(provider.issued.has(back.body.accessToken));
    assert.equal((await connection(id)).status, 'active');
  });

  test('a 503 page with Retry-After (not JSON) is honoured the same way', async () => {
    const id = await connect();
    t.clock.advance(HOUR);
    provider.limited = { status: 503, headers: { 'retry-after': '30' }, text: 'down for maintenance' };
    const before = refreshCalls();
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).headers.get('retry-after'), '30');
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 503);
    assert.equal(refreshCalls() - before, 1);
    t.clock.advance(31_000);
    provider.limited = null;
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 200);
  });

  const cosmetic: Array<[string, (b: Record<string, unknown>) => Record<string, unknown>]> = [
    ['token_type missing', ({ token_type: _, ...b }) => b],
    ['scope as an array', (b) => ({ ...b, scope: ['me', 'more'] })],
    ['refresh_token null', (b) => ({ ...b, refresh_token: null })],
    ['refresh_token ""', (b) => ({ ...b, refresh_token: '' })],
  ];
  for (const [name, deviate] of cosmetic) {
    test(`a 200 refresh answer with ${name} is stored, and the connection keeps renewing`, async () => {
      const id = await connect();
      const refused = fake.tokenRequests().length - refreshCalls();
      provider.shape = (b) => ({ json: deviate(b) });
      assert.equal((await t.api('POST', `/v1/connections/${id}/refresh`)).status, 200);
      const served = (await t.api('GET', `/v1/connections/${id}/token`)).body.accessToken;
      assert.ok(provider.issued.has(served) && served === `at-${[...provider.issued].length}`, `the new access token is served: ${served}`);
      // The refresh token stored (the new one, or the old one kept) is the live one.
      assert.equal((await t.api('POST', `/v1/connections/${id}/refresh`)).status, 200);
      const c = await connection(id);
      assert.equal(c.status, 'active', c.statusReason);
      assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).body.accessToken, `at-${[...provider.issued].length}`);
      assert.equal(fake.tokenRequests().length - refreshCalls(), refused, 'no new code exchange');
    });
  }

  test('a 200 refresh answer without an access token is refused, and the reason names the response problem', async () => {
    const id = await connect();
    for (let i = 0; i < 3; i++) {
      provider.shape = ({ access_token: _, refresh_token: __, ...b }) => ({ json: b }); // nothing rotated
      await t.api('POST', `/v1/connections/${id}/refresh`);
    }
    const c = await connection(id);
    assert.equal(c.status, 'refresh_failing');
    assert.match(c.statusReason, /access_token/);
    assert.doesNotMatch(c.statusReason, /client id and secret/);
  });

  test('a refused 200 answer that carried a new refresh token is not forgotten: the invalid_grant that follows says so', async () => {
    const id = await connect();
    provider.shape = ({ access_token: _, ...b }) => ({ json: b }); // rotated, but no access token
    await t.api('POST', `/v1/connections/${id}/refresh`);
    assert.equal((await t.api('POST', `/v1/connections/${id}/refresh`)).status, 409);
    const c = await connection(id);
    assert.equal(c.status, 'needs_reauth');
    assert.match(c.statusReason, /could not be used/);
  });

  test('a 503 on the refresh after a lost answer does not erase it: the invalid_grant that follows still says interrupted', async () => {
    const id = await connect();
    provider.shape = () => 'cut-body';
    await t.api('POST', `/v1/connections/${id}/refresh`);
    provider.limited = { status: 503, json: { error: 'temporarily_unavailable' } };
    await t.api('POST', `/v1/connections/${id}/refresh`);
    provider.limited = null;
    t.clock.advance(HOUR);
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 409);
    const c = await connection(id);
    assert.equal(c.status, 'needs_reauth');
    assert.match(c.statusReason, /interrupted/);
  });
});

test('an answer that stalls after its headers until the provider timeout is lost too, not a bad answer', async () => {
  const t = await startTestKeyway({ providerTimeoutMs: 300, leaseMs: 5_000 });
  const fake = await FakeProvider.start();
  const provider = new StrictRotation();
  fake.token = (req) => provider.answer(req);
  try {
    const made = await t.api('POST', '/v1/integrations', {
      provider: 'custom', clientId: 'stall', clientSecret: 'stall-secret-4e2a',
      authorizationUrl: `${fake.base}/authorize`, tokenUrl: `${fake.base}/token`, scopes: ['me'],
    });
    const run = await connectThroughFake(t, made.body.id);
    const id = run.connection.id;
    provider.shape = () => 'stall-body';
    await t.api('POST', `/v1/connections/${id}/refresh`);
    t.clock.advance(HOUR);
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 409);
    const c = (await t.api('GET', `/v1/connections/${id}`)).body;
    assert.equal(c.status, 'needs_reauth');
    assert.match(c.statusReason, /interrupted/);
  } finally {
    await t.close();
    await fake.close();
  }
});
