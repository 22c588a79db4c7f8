/**
 * Webhooks: status changes reach registered endpoints signed (verified with the recipe in
 * docs/webhooks.md), are retried after a failure with backoff for a day, can be resent, and never
 * carry a secret. Receivers are small HTTP servers on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { CLIENT_SECRET, type TestKeyway, addIntegration, connectInBrowser, startProvider, startTestKeyway } from './helpers/keyway.ts';

const MIN = 60_000;

interface Received { headers: IncomingHttpHeaders; body: string }

async function startReceiver(answer: () => number) {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answer()).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    async waitFor(n: number): Promise<Received[]> {
      for (let i = 0; i < 200 && got.length < n; i++) await sleep(25);
      assert.ok(got.length >= n, `expected ${n} deliveries, got ${got.length}`);
      return got;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** docs/webhooks.md's recipe, as a receiver would paste it (with `now` passed in for the test clock). */
function verifyKeywayWebhook(secret: string, signatureHeader: string, rawBody: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries(signatureHeader.split(',').map((p) => p.trim().split(/=(.*)/s).slice(0, 2))) as Record<string, string>;
  const t = Number(parts['t']);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  if (!/^[0-9a-f]{64}$/.test(parts['v1'] ?? '')) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  return timingSafeEqual(expected, Buffer.from(parts['v1'] ?? '', 'hex'));
}

describe('webhooks', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let integration: string;

  before(async () => {
    provider = await startProvider({ rotateRefreshTokens: true });
    t = await startTestKeyway();
    integration = (await addIntegration(t, provider)).id;
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  async function connectAndBreak(username: string): Promise<{ id: string; secrets: string[] }> {
    const run = await connectInBrowser(t, provider, integration, { username, session: { externalId: username } });
    assert.match(run.page.text, /Connected!/);
    const id = (await t.api('GET', `/v1/connections?externalId=${username}`)).body.data[0].id as string;
    const token = (await t.api('GET', `/v1/connections/${id}/token`)).body.accessToken as string;
    await provider.sandbox.revokeAccountGrants(username);
    t.clock.advance(6 * MIN);
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 409);
    return { id, secrets: [token, CLIENT_SECRET, t.apiKey] };
  }

  test('the docs recipe is the one documented', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'webhooks.md'), 'utf8');
    assert.match(doc, /createHmac\('sha256', secret\)\.update\(`\$\{t\}\.\$\{rawBody\}`\)/);
  });

  test('a connection turning needs_reauth is POSTed signed, verifies with the documented recipe, and carries no secret', async () => {
    const receiver = await startReceiver(() => 204);
    try {
      const reg = await t.api('POST', '/v1/webhooks', { url: receiver.url, events: ['connection.needs_reauth'] });
      assert.equal(reg.status, 201, JSON.stringify(reg.body));
      assert.match(reg.body.secret, /^whsec_/);
      const listed = await t.api('GET', '/v1/webhooks');
      assert.ok(!JSON.stringify(listed.body).includes(reg.body.secret), 'the secret is shown only once');

      const { id, secrets } = await connectAndBreak('hook-alice');
      const [d] = await receiver.waitFor(1);
      assert.ok(d);
      assert.equal(d.headers['keyway-event'], 'connection.needs_reauth');
      assert.equal(d.headers['content-type'], 'application/json');
      const now = Math.floor(t.clock.now() / 1000);
      assert.ok(verifyKeywayWebhook(reg.body.secret, String(d.headers['keyway-signature']), d.body, now), 'signature verifies');
      assert.ok(!verifyKeywayWebhook('whsec_wrong', String(d.headers['keyway-signature']), d.body, now), 'a wrong secret does not verify');
      assert.ok(!verifyKeywayWebhook(reg.body.secret, String(d.headers['keyway-signature']), d.body.replace('needs_reauth', 'active'), now), 'a changed body does not verify');
      assert.ok(!verifyKeywayWebhook(reg.body.secret, String(d.headers['keyway-signature']), d.body, now + 3600), 'an old delivery replayed later does not verify');
      const event = JSON.parse(d.body);
      assert.equal(event.type, 'connection.needs_reauth');
      assert.match(event.id, /^evt_/);
      assert.deepEqual(Object.keys(event.data.connection).sort(), ['externalId', 'id', 'integration', 'status', 'statusReason']);
      assert.equal(event.data.connection.id, id);
      assert.equal(event.data.connection.externalId, 'hook-alice');
      assert.equal(event.data.connection.status, 'needs_reauth');
      assert.match(event.data.connection.statusReason, /Reconnect/);
      for (const s of [...secrets, reg.body.secret]) assert.ok(!d.body.includes(s) && !JSON.stringify(d.headers).includes(s), 'no secret in the delivery');
      await t.api('DELETE', `/v1/webhooks/${reg.body.id}`);
    } finally {
      await receiver.close();
    }
  });

  test('a delivery answered 500 is retried with backoff, shown in the delivery log, and can be resent', async () => {
    let status = 500;
    const receiver = await startReceiver(() => status);
    try {
      const reg = await t.api('POST', '/v1/webhooks', { url: receiver.url, events: ['connection.needs_reauth'] });
      await connectAndBreak('hook-bob');
      await receiver.waitFor(1);
      let log = await t.api('GET', `/v1/webhooks/${reg.body.id}/deliveries`);
      await sleep(50);
      log = await t.api('GET', `/v1/webhooks/${reg.body.id}/deliveries`);
      const first = log.body.data[0];
      assert.equal(first.status, 'pending');
      assert.equal(first.attempts, 1);
      assert.equal(first.lastStatusCode, 500);
      assert.match(first.lastError, /HTTP 500/);
      const wait = Date.parse(first.nextAttemptAt) - t.clock.now();
      assert.ok(wait >= 9_000 && wait <= 11_000, `first retry after about 10 s, got ${wait} ms`);

      // Not yet due: nothing is sent.
      assert.equal(await t.kw.services.webhooks.deliverDue(), 0);
      status = 200;
      t.clock.advance(11_000);
      assert.equal(await t.kw.services.webhooks.deliverDue(), 1);
      const [a, b] = receiver.got;
      assert.ok(a && b);
      assert.equal(a.headers['keyway-delivery'], b.headers['keyway-delivery'], 'the retry is the same delivery');
      assert.equal(JSON.parse(a.body).id, JSON.parse(b.body).id, 'and the same event');
      log = await t.api('GET', `/v1/webhooks/${reg.body.id}/deliveries`);
      assert.equal(log.body.data[0].status, 'delivered');
      assert.equal(log.body.data[0].attempts, 2);

      const resent = await t.api('POST', `/v1/webhooks/${reg.body.id}/deliveries/${first.id}/resend`);
      assert.equal(resent.status, 202);
      await receiver.waitFor(3);
      assert.equal(receiver.got[2]?.headers['keyway-delivery'], first.id);
      await t.api('DELETE', `/v1/webhooks/${reg.body.id}`);
    } finally {
      await receiver.close();
    }
  });

  test('an endpoint that never answers 2xx is retried for a day, then marked failed with what to do', async () => {
    const receiver = await startReceiver(() => 503);
    try {
      const reg = await t.api('POST', '/v1/webhooks', { url: receiver.url, events: ['connection.needs_reauth'] });
      await connectAndBreak('hook-carol');
      await receiver.waitFor(1);
      await sleep(50);
      const started = t.clock.now();
      for (let i = 0; i < 20; i++) {
        const log = await t.api('GET', `/v1/webhooks/${reg.body.id}/deliveries`);
        const d = log.body.data[0];
        if (d.status !== 'pending') break;
        t.clock.advance(Date.parse(d.nextAttemptAt) - t.clock.now() + 1);
        await t.kw.services.webhooks.deliverDue();
      }
      const d = (await t.api('GET', `/v1/webhooks/${reg.body.id}/deliveries`)).body.data[0];
      assert.equal(d.status, 'failed');
      assert.equal(d.attempts, 9);
      assert.match(d.lastError, /resend/);
      const spent = t.clock.now() - started;
      assert.ok(spent > 20 * 3_600_000 && spent < 28 * 3_600_000, `retried for about a day (${(spent / 3_600_000).toFixed(1)} h)`);
      assert.equal(receiver.got.length, 9);
      await t.api('DELETE', `/v1/webhooks/${reg.body.id}`);
    } finally {
      await receiver.close();
    }
  });

  test('connecting and disconnecting send connection.created and connection.deleted to an endpoint that takes all events', async () => {
    const receiver = await startReceiver(() => 200);
    try {
      const reg = await t.api('POST', '/v1/webhooks', { url: receiver.url });
      assert.equal(reg.body.events.length, 6, 'no events given: all of them');
      const run = await connectInBrowser(t, provider, integration, { username: 'hook-dave', session: { externalId: 'hook-dave' } });
      assert.match(run.page.text, /Connected!/);
      const id = (await t.api('GET', '/v1/connections?externalId=hook-dave')).body.data[0].id as string;
      await receiver.waitFor(1);
      assert.equal((await t.api('DELETE', `/v1/connections/${id}`)).status, 204);
      const got = await receiver.waitFor(2);
      assert.deepEqual(got.map((g) => JSON.parse(g.body).type), ['connection.created', 'connection.deleted']);
      assert.ok(got.every((g) => JSON.parse(g.body).data.connection.id === id));
      await t.api('DELETE', `/v1/webhooks/${reg.body.id}`);
    } finally {
      await receiver.close();
    }
  });

  test('endpoints are checked by the outbound policy and event names are checked', async () => {
    const meta = await t.api('POST', '/v1/webhooks', { url: 'http://169.254.169.254/latest/meta-data' });
    assert.equal(meta.status, 400);
    assert.equal(meta.body.error.code, 'outbound_url_refused');
    const priv = await t.api('POST', '/v1/webhooks', { url: 'https://10.0.0.5/hook' });
    assert.equal(priv.status, 400);
    const bad = await t.api('POST', '/v1/webhooks', { url: 'https://hooks.example.com/x', events: ['connection.exploded'] });
    assert.equal(bad.status, 400);
  });
});
