/**
 * The reference for what Node can do as a proxy: node:http in front, undici `dispatch()` behind,
 * the caller's headers passed on with one header added, both bodies streamed with backpressure.
 * No authentication, no lookup, no audit: whatever Keyway adds to this is its own cost.
 */
import { createServer } from 'node:http';
import { Agent, type Dispatcher } from 'undici';

const origin = process.argv[3];
if (!origin) throw new Error('usage: passthrough.ts PORT UPSTREAM_ORIGIN');
const agent = new Agent();
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'upgrade', 'te', 'trailer', 'proxy-authorization']);

const server = createServer((req, res) => {
  const headers: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i]!.toLowerCase())) headers.push(raw[i]!, raw[i + 1]!);
  headers.push('x-forwarded-by', 'bench-passthrough');
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  let controller: Dispatcher.DispatchController | null = null;
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(c) { controller = c; },
    onResponseStart(c, status) {
      if (status < 200) return;
      const out: string[] = [];
      const rh = c.rawHeaders as Buffer[];
      for (let i = 0; i < rh.length; i += 2) {
        const name = rh[i]!.toString('latin1');
        if (!HOP.has(name.toLowerCase())) out.push(name, rh[i + 1]!.toString('latin1'));
      }
      res.writeHead(status, out);
    },
    onResponseData(_c, chunk) {
      if (!res.write(chunk)) {
        controller?.pause();
        res.once('drain', () => controller?.resume());
      }
    },
    onResponseEnd() { res.end(); },
    onResponseError(_c, err) {
      if (res.headersSent) res.destroy(err);
      else res.writeHead(502).end();
    },
  };
  agent.dispatch({ origin, path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers, body: hasBody ? req : null }, handler);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
