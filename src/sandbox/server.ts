/** The sandbox on its own HTTP server on 127.0.0.1, as tests use it ("the real authorization server"). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createSandbox, type Sandbox, type SandboxOptions } from './sandbox.ts';

export interface SandboxServerOptions extends Omit<SandboxOptions, 'issuer'> {
  /** 0 (default) = a free port */
  port?: number;
  /** path prefix of the issuer, e.g. '/sandbox'; default '' (issuer at the root) */
  path?: string;
}

export interface SandboxServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** url + path */
  issuer: string;
  sandbox: Sandbox;
  close(): Promise<void>;
}

export async function startSandboxServer(options: SandboxServerOptions = {}): Promise<SandboxServer> {
  const { port = 0, path = '', ...sandboxOptions } = options;
  const prefix = path.replace(/\/+$/, '');
  if (prefix && !prefix.startsWith('/')) throw new TypeError('path must start with "/"');

  let sandbox: Sandbox | undefined;
  const server = createServer((req, res) => {
    if (sandbox) sandbox.handle(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    sandbox = await createSandbox({ ...sandboxOptions, issuer: `${url}${prefix}` });
  } catch (err) {
    server.close();
    throw err;
  }

  return {
    url,
    issuer: sandbox.issuer,
    sandbox,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
