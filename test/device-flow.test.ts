import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDefinition } from '../src/catalog/index.ts';
import { DEVICE_CODE_GRANT, type SandboxServer } from '../src/sandbox/index.ts';
import { verifyDeviceWithForms } from './helpers/browserless.ts';
import { type FakeDeviceServer, startFakeDeviceServer } from './helpers/device.ts';
import { CLIENT_SECRET, type TestKeyway, addIntegration, freePort, startProvider, startTestKeyway } from './helpers/keyway.ts';

const SEC = 1000;

describe('device flow (RFC 8628) against the real authorization server', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let integration: string;
  const devicePolls = () => provider.sandbox.stats.tokenRequests[DEVICE_CODE_GRANT] ?? 0;
  const pollDue = () => t.kw.services.devicePoller.pollDue();

  before(async () => {
    provider = await startProvider();
    t = await startTestKeyway({ devicePollTickMs: 0 }); // the test moves the clock and polls by hand
    const added = await addIntegration(t, provider);
    integration = added.id;
    await provider.sandbox.registerClient({
      clientId: added.clientId, clientSecret: CLIENT_SECRET, redirectUris: [added.redirectUri],
      grantTypes: ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT],
    });
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  test('a person enters the code at the provider; Keyway polls by itself, honouring the interval, and makes the connection', async () => {
    const started = await t.api('POST', '/v1/connect-sessions', { integration, grant: 'device_code', externalId: 'tv-1', name: 'Living room TV' });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const s = started.body;
    assert.match(s.id, /^cs_/);
    assert.match(s.userCode, /\S/);
    assert.equal(s.verificationUri, `${provider.issuer}/device`);
    assert.ok(s.verificationUriComplete.startsWith(`${provider.issuer}/device`), 'the sandbox gives a complete URI');
    assert.equal(s.interval, 5, 'RFC 8628 default when the provider gives none');
    assert.ok(Date.parse(s.expiresAt) > t.clock.now());
    assert.equal(s.connectUrl, undefined);

    const before = devicePolls();
    assert.equal(await pollDue(), 0, 'not polled before the interval has passed');
    t.clock.advance(5 * SEC);
    assert.equal(await pollDue(), 1);
    assert.equal(devicePolls() - before, 1);
    assert.equal((await t.api('GET', `/v1/connect-sessions/${s.id}`)).body.status, 'pending', 'authorization_pending keeps it pending');

    const page = await verifyDeviceWithForms(s.verificationUri, { username: 'tina', userCode: s.userCode });
    assert.match(page.text, /Device connected/);

    t.clock.advance(4 * SEC);
    assert.equal(await pollDue(), 0, 'the next poll waits the full interval');
    t.clock.advance(1 * SEC);
    assert.equal(await pollDue(), 1);
    const done = await t.api('GET', `/v1/connect-sessions/${s.id}`);
    assert.equal(done.body.status, 'connected');
    assert.match(done.body.connection, /^conn_/);

    const conn = await t.api('GET', `/v1/connections/${done.body.connection}`);
    assert.equal(conn.body.name, 'Living room TV');
    assert.equal(conn.body.externalId, 'tv-1');
    assert.equal(conn.body.status, 'active');
    assert.equal(conn.body.account.subject, 'tina');
    assert.equal(conn.body.hasRefreshToken, true);
    const token = await t.api('GET', `/v1/connections/${done.body.connection}/token`);
    const me = await fetch(`${provider.issuer}/api/me`, { headers: { authorization: `Bearer ${token.body.accessToken}` } });
    assert.equal((await me.json()).sub, 'tina');

    t.clock.advance(60 * SEC);
    const after = devicePolls();
    assert.equal(await pollDue(), 0, 'a finished session is not polled again');
    assert.equal(devicePolls(), after);
  });

  test('access_denied: the person declines, the session says denied and nothing is connected', async () => {
    const s = (await t.api('POST', '/v1/connect-sessions', { integration, grant: 'device_code', externalId: 'tv-denied' })).body;
    const page = await verifyDeviceWithForms(s.verificationUriComplete, { username: 'tina', decision: 'deny' });
    assert.match(page.text, /denied or cancelled/);
    t.clock.advance(5 * SEC);
    assert.equal(await pollDue(), 1);
    const got = await t.api('GET', `/v1/connect-sessions/${s.id}`);
    assert.equal(got.body.status, 'denied');
    assert.equal(got.body.error, 'access_denied');
    assert.equal(got.body.connection, null);
    assert.equal((await t.api('GET', '/v1/connections?externalId=tv-denied')).body.data.length, 0);
  });

  test('a device connection is re-authenticated by device too: same id, and another account is refused', async () => {
    const first = (await t.api('POST', '/v1/connect-sessions', { integration, grant: 'device_code', externalId: 'tv-reauth' })).body;
    await verifyDeviceWithForms(first.verificationUriComplete, { username: 'ursula' });
    t.clock.advance(5 * SEC);
    await pollDue();
    const id = (await t.api('GET', `/v1/connect-sessions/${first.id}`)).body.connection;

    const again = await t.api('POST', `/v1/connections/${id}/reauthorize`, { grant: 'device_code' });
    assert.equal(again.status, 201);
    assert.equal(again.body.reauthorizes, id);
    await verifyDeviceWithForms(again.body.verificationUriComplete, { username: 'ursula' });
    t.clock.advance(5 * SEC);
    await pollDue();
    const ok = await t.api('GET', `/v1/connect-sessions/${again.body.id}`);
    assert.equal(ok.body.status, 'connected');
    assert.equal(ok.body.connection, id, 'the same connection');

    const other = await t.api('POST', `/v1/connections/${id}/reauthorize`, { grant: 'device_code' });
    await verifyDeviceWithForms(other.body.verificationUriComplete, { username: 'mallory' });
    t.clock.advance(5 * SEC);
    await pollDue();
    const refused = await t.api('GET', `/v1/connect-sessions/${other.body.id}`);
    assert.equal(refused.body.status, 'failed');
    assert.equal(refused.body.error, 'account_mismatch');
    assert.equal((await t.api('GET', `/v1/connections/${id}`)).body.account.subject, 'ursula');
    assert.equal((await t.api('GET', '/v1/connections?externalId=tv-reauth')).body.data.length, 1);
  });

  test('implicit and password grants are refused with the OAuth 2.1 reason, in a request and in a definition', async () => {
    for (const grant of ['implicit', 'password']) {
      const res = await t.api('POST', '/v1/connect-sessions', { integration, grant });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'invalid_request');
      assert.match(res.body.error.message, /OAuth 2\.1 removed the implicit and resource owner password/);
      assert.throws(
        () => parseDefinition({ id: 'legacy', name: 'Legacy', authorizationUrl: 'https://legacy.example/auth', tokenUrl: 'https://legacy.example/token', grants: ['authorization_code', grant] }, 'legacy.yaml'),
        (e: Error) => e.message.includes('field "grants.1"') && /OAuth 2\.1 removed the implicit and resource owner password/.test(e.message),
      );
    }
  });
});

describe('device flow against a provider with odd answers (fake server on 127.0.0.1)', () => {
  let t: TestKeyway;
  let fake: FakeDeviceServer;
  let integration: string;
  let started = 0;
  const sessionIds: string[] = [];
  const pollDue = () => t.kw.services.devicePoller.pollDue();
  const start = async (externalId: string) => {
    const res = await t.api('POST', '/v1/connect-sessions', { integration, grant: 'device_code', externalId });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    sessionIds.push(res.body.id);
    return { session: res.body, code: fake.deviceCode(started++) };
  };
  const status = async (id: string) => (await t.api('GET', `/v1/connect-sessions/${id}`)).body;

  before(async () => {
    fake = await startFakeDeviceServer({ interval: 2, expiresIn: 60 });
    t = await startTestKeyway({ devicePollTickMs: 0 });
    const res = await t.api('POST', '/v1/integrations', { provider: 'custom', clientId: 'tv-app', clientSecret: 'fake-secret-1234', issuer: fake.issuer, scopes: ['read'] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    integration = res.body.id;
  });
  after(async () => {
    await t.close();
    await fake.close();
  });

  test('without verification_uri_complete the session shows only the code and the URL', async () => {
    fake.nextScript(['authorization_pending']);
    const { session } = await start('no-complete');
    assert.equal(session.verificationUri, `${fake.issuer}/activate`);
    assert.match(session.userCode, /^WXYZ-/);
    assert.equal('verificationUriComplete' in session, false);
    assert.equal(session.interval, 2);
    assert.equal('verificationUriComplete' in (await status(session.id)), false);
  });

  test('slow_down adds 5 seconds to the interval for good', async () => {
    fake.nextScript(['slow_down', 'authorization_pending', 'tokens']);
    const { session, code } = await start('slow');
    t.clock.advance(2 * SEC);
    await pollDue();
    assert.equal(fake.polls(code), 1);
    assert.equal((await status(session.id)).interval, 7);
    t.clock.advance(2 * SEC);
    await pollDue();
    assert.equal(fake.polls(code), 1, 'the old interval is no longer enough');
    t.clock.advance(5 * SEC);
    await pollDue();
    assert.equal(fake.polls(code), 2);
    assert.equal((await status(session.id)).status, 'pending');
    t.clock.advance(6 * SEC);
    await pollDue();
    assert.equal(fake.polls(code), 2, 'still 7 s after authorization_pending');
    t.clock.advance(1 * SEC);
    await pollDue();
    assert.equal(fake.polls(code), 3);
    const done = await status(session.id);
    assert.equal(done.status, 'connected');
    assert.equal((await t.api('GET', `/v1/connections/${done.connection}`)).body.status, 'active');
  });

  test('expired_token ends the session as expired, and polling stops', async () => {
    fake.nextScript(['authorization_pending', 'expired_token']);
    const { session, code } = await start('expired');
    for (let i = 0; i < 2; i++) {
      t.clock.advance(2 * SEC);
      await pollDue();
    }
    assert.equal(fake.polls(code), 2);
    const s = await status(session.id);
    assert.equal(s.status, 'expired');
    assert.equal(s.error, 'expired_token');
    t.clock.advance(10 * SEC);
    await pollDue();
    assert.equal(fake.polls(code), 2);
    assert.equal((await t.api('GET', '/v1/connections?externalId=expired')).body.data.length, 0);
  });

  test('a code whose lifetime has run out on Keyway\'s clock is not polled again', async () => {
    fake.nextScript(['authorization_pending']);
    const { session, code } = await start('lifetime');
    t.clock.advance(61 * SEC);
    await pollDue();
    assert.equal(fake.polls(code), 0);
    assert.equal((await status(session.id)).status, 'expired');
  });

  test('the device code never reaches the API, the logs or the audit log', async () => {
    const codes = Array.from({ length: started }, (_, i) => fake.deviceCode(i));
    await t.kw.services.audit.flush();
    const audit = JSON.stringify((await t.api('GET', '/v1/audit?limit=200')).body);
    const sessions = JSON.stringify(await Promise.all(sessionIds.map((id) => status(id))));
    for (const c of codes) {
      assert.equal(t.logs.text().includes(c), false);
      assert.equal(audit.includes(c), false);
      assert.equal(sessions.includes(c), false);
    }
  });
});

describe('keyway connect --device', { timeout: 60_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyway-cli-device-'));
  const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });

  function collect(child: ChildProcess): { text: () => string; waitFor: (re: RegExp) => Promise<RegExpMatchArray> } {
    let out = '';
    const waiters: Array<() => void> = [];
    const onData = (d: Buffer) => { out += d.toString(); for (const w of waiters.splice(0)) w(); };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    return {
      text: () => out,
      waitFor: (re) => new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output:\n${out}`)), 30_000);
        const check = () => {
          const m = out.match(re);
          if (m) { clearTimeout(timer); resolve(m); } else waiters.push(check);
        };
        child.once('exit', (code) => { if (!out.match(re)) { clearTimeout(timer); reject(new Error(`exited ${code}:\n${out}`)); } });
        check();
      }),
    };
  }

  test('prints the code and the URL, waits like a CLI login, and ends with the connection id', async () => {
    const port = await freePort();
    const server = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, '--dev'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(server);
    await collect(server).waitFor(/listening on/);
    const url = `http://127.0.0.1:${port}`;

    const cli = spawn(process.execPath, [CLI, 'connect', 'sandbox', '--device', '--url', url, '--data-dir', dataDir, '--external-id', 'from-cli'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KEYWAY_API_KEY: '' },
    });
    children.push(cli);
    const out = collect(cli);
    const [, verificationUri] = await out.waitFor(/open (\S+)\nand enter the code: /);
    const [, userCode] = await out.waitFor(/enter the code: (\S+)/);
    assert.equal(verificationUri, `${url}/sandbox/device`);
    await out.waitFor(/Waiting for you/);
    const page = await verifyDeviceWithForms(verificationUri!, { username: 'cli-user', userCode: userCode! });
    assert.match(page.text, /Device connected/);
    const [, connection] = await out.waitFor(/Connected: (conn_\S+)/);
    const exit = await new Promise<number | null>((r) => (cli.exitCode !== null ? r(cli.exitCode) : cli.once('exit', r)));
    assert.equal(exit, 0);

    const key = readFileSync(join(dataDir, 'bootstrap-admin-key'), 'utf8').trim();
    const conn = await (await fetch(`${url}/v1/connections/${connection}`, { headers: { authorization: `Bearer ${key}` } })).json();
    assert.equal(conn.externalId, 'from-cli');
    assert.equal(conn.account.subject, 'cli-user');
    assert.equal(out.text().includes(key), false);
  });
});
