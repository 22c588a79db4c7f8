/**
 * A provider's endpoints replayed on 127.0.0.1: the authorization endpoint consents at once and
 * sends the browser back with a code; the token endpoint and API answer whatever the test sets,
 * in the provider's own response shapes. A built-in definition is copied with every https URL moved
 * under the fake (`https://oauth2.googleapis.com/token` → `http://127.0.0.1:PORT/oauth2.googleapis.com/token`),
 * so everything else in it — params, scopes, quirks, refresh settings, kept values — is the real one.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { generateKeyPairSync, sign } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { BUILTIN_PROVIDERS_DIR, type ProviderDefinition, loadDefinitionsFromDir, parseDefinition } from '../../src/catalog/index.ts';
import { CookieJar } from './browserless.ts';
import type { ApiResponse, TestKeyway } from './keyway.ts';

export interface FakeRequest {
  method: string;
  /** The path under the fake, e.g. `/oauth2.googleapis.com/token`. */
  path: string;
  url: URL;
  headers: IncomingHttpHeaders;
  /** The body as sent. */
  raw: string;
  /** Form fields, or the top-level fields of a JSON body. */
  form: URLSearchParams;
}

/**
 * What the fake answers: a JSON (or text) response, `reset` to drop the connection unanswered, or
 * `cut-body` to send a 200's headers and the start of its JSON, then drop the connection, or
 * `stall-body` to send the same start and then nothing more.
 */
export type FakeAnswer = { status?: number; headers?: Record<string, string>; json?: unknown; text?: string } | 'reset' | 'cut-body' | 'stall-body';

export const FAKE_CLIENT_SECRET = 'fake-client-secret-7d1e';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

function readBody(req: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => { data += chunk; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function formOf(raw: string, contentType: string | undefined): URLSearchParams {
  if (contentType?.startsWith('application/json')) {
    const body = JSON.parse(raw) as Record<string, unknown>;
    return new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)]));
  }
  return new URLSearchParams(raw);
}

export class FakeProvider {
  readonly requests: FakeRequest[] = [];
  /** Each authorization request the browser made, by the code it was answered with. */
  readonly authorizations = new Map<string, URL>();
  /** The token endpoint (any POST). */
  token: (req: FakeRequest) => FakeAnswer = () => ({ status: 400, json: { error: 'invalid_request', error_description: 'no answer set' } });
  /** Any other GET (API, userinfo). */
  api: (req: FakeRequest) => FakeAnswer = () => ({ status: 404, json: { error: 'not_found' } });
  readonly #server: Server;
  readonly base: string;
  /** Extra query parameters the authorization endpoint adds to its redirect back (QuickBooks' `realmId`). */
  callbackExtras: Record<string, string> = {};
  #codes = 0;

  private constructor(server: Server, base: string) {
    this.#server = server;
    this.base = base;
  }

  static async start(): Promise<FakeProvider> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fake = new FakeProvider(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req, res) => {
      void readBody(req).then((raw) => {
        const url = new URL(req.url ?? '/', fake.base);
        const request: FakeRequest = { method: req.method ?? 'GET', path: url.pathname, url, headers: req.headers, raw, form: formOf(raw, req.headers['content-type']) };
        fake.requests.push(request);
        if (request.method === 'GET' && url.searchParams.get('response_type') === 'code') {
          res.writeHead(302, { location: fake.#consent(url) }).end();
          return;
        }
        const answer = request.method === 'POST' ? fake.token(request) : fake.api(request);
        if (answer === 'reset') {
          req.socket.destroy();
          return;
        }
        if (answer === 'cut-body' || answer === 'stall-body') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
          res.write('{"access_token":"', () => { if (answer === 'cut-body') setTimeout(() => req.socket.destroy(), 20); });
          return;
        }
        const body = answer.text ?? JSON.stringify(answer.json ?? {});
        res.writeHead(answer.status ?? 200, { 'content-type': answer.text !== undefined ? 'text/plain' : 'application/json; charset=utf-8', 'cache-control': 'no-store', ...answer.headers });
        res.end(body);
      });
    });
    return fake;
  }

  /** A person who approves at once: back to the redirect URI with a fresh code and the state. */
  #consent(authorize: URL): string {
    const code = `code-${++this.#codes}`;
    this.authorizations.set(code, authorize);
    const back = new URL(authorize.searchParams.get('redirect_uri') ?? '');
    back.searchParams.set('code', code);
    back.searchParams.set('state', authorize.searchParams.get('state') ?? '');
    for (const [k, v] of Object.entries(this.callbackExtras)) back.searchParams.set(k, v);
    return back.toString();
  }

  /** Token endpoint calls so far (POSTs), oldest first. */
  tokenRequests(): FakeRequest[] {
    return this.requests.filter((r) => r.method === 'POST');
  }

  /** The authorization request behind a token request's code. */
  authorizationFor(req: FakeRequest): URL {
    const url = this.authorizations.get(req.form.get('code') ?? '');
    if (!url) throw new Error(`no authorization request for code ${req.form.get('code')}`);
    return url;
  }

  /** An RS256-signed ID token (Keyway reads its claims; the signature is there for realism). */
  idToken(claims: Record<string, unknown>): string {
    const now = Math.floor(Date.now() / 1000);
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${enc({ alg: 'RS256', typ: 'JWT', kid: 'fake-1' })}.${enc({ iat: now, exp: now + 3600, ...claims })}`;
    return `${input}.${sign('RSA-SHA256', Buffer.from(input), privateKey).toString('base64url')}`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** A built-in definition. */
export function builtin(id: string): ProviderDefinition {
  const def = loadDefinitionsFromDir(BUILTIN_PROVIDERS_DIR).find((d) => d.id === id);
  if (!def) throw new Error(`no built-in provider ${id}`);
  return def;
}

/** The built-in definition `id` with its https URLs moved under the fake, as provider `fake-{id}`. */
export function fakeVariant(id: string, base: string): ProviderDefinition {
  const def = builtin(id);
  const move = (u: string | undefined): string | undefined => u?.replace(/^https:\/\//, `${base}/`);
  return parseDefinition({
    ...def, id: `fake-${id}`, name: `${def.name} (fake)`,
    issuer: move(def.issuer), authorizationUrl: move(def.authorizationUrl), tokenUrl: move(def.tokenUrl),
    revocationUrl: move(def.revocationUrl), deviceAuthorizationUrl: move(def.deviceAuthorizationUrl), parUrl: move(def.parUrl),
    api: { ...def.api, baseUrls: def.api.baseUrls.map((u) => move(u) ?? u) },
    ...(def.identity ? { identity: { ...def.identity, url: move(def.identity.url) } } : {}),
  }, `fake variant of ${id}`);
}

/** Adds `fake-{id}` to a running Keyway's catalog (once) and creates an integration for it. */
export async function addFakeIntegration(t: TestKeyway, fake: FakeProvider, id: string, extra: Record<string, unknown> = {}): Promise<{ id: string; clientId: string }> {
  const def = fakeVariant(id, fake.base);
  if (!t.kw.services.catalog.get(def.id)) t.kw.services.catalog.add(def);
  const clientId = `client-${id}`;
  const res = await t.api('POST', '/v1/integrations', { provider: def.id, clientId, clientSecret: FAKE_CLIENT_SECRET, ...extra });
  if (res.status !== 201) throw new Error(`integration for ${def.id} failed: ${JSON.stringify(res.body)}`);
  return { id: res.body.id, clientId };
}

export interface FakeConnectRun {
  /** Where Keyway sent the browser: the provider's authorization request. */
  authorizeUrl: URL;
  /** The page Keyway showed when the browser came back. */
  page: { status: number; text: string };
  session: ApiResponse['body'];
  /** The connection as the API shows it, or null when none was created. */
  connection: ApiResponse['body'] | null;
}

/** Opens a connect link as a person would, against the fake: consent, back to Keyway, the result. */
export async function connectThroughFake(t: TestKeyway, integration: string, session: Record<string, unknown> = {}): Promise<FakeConnectRun> {
  const created = await t.api('POST', '/v1/connect-sessions', { integration, ...session });
  if (created.status !== 201) throw new Error(`connect session failed: ${JSON.stringify(created.body)}`);
  const jar = new CookieJar();
  const start = await jar.fetch(created.body.connectUrl);
  const location = start.headers.get('location');
  if (start.status !== 302 || !location) throw new Error(`connect link answered ${start.status}: ${await start.text()}`);
  const authorizeUrl = new URL(location);
  const consent = await jar.fetch(authorizeUrl);
  const callback = consent.headers.get('location');
  if (consent.status !== 302 || !callback) throw new Error(`the fake authorization endpoint answered ${consent.status}`);
  const back = await jar.fetch(callback);
  const page = { status: back.status, text: await back.text() };
  const s = await t.api('GET', `/v1/connect-sessions/${created.body.id}`);
  const connection = s.body.connection ? (await t.api('GET', `/v1/connections/${s.body.connection}`)).body : null;
  return { authorizeUrl, page, session: s.body, connection };
}
