/**
 * The provider API the bench calls: node:http answering every request with the same 1 KB JSON
 * document. It refuses a request without an Authorization header, so a run that forgets to inject
 * the credential shows up as errors, not as a fast result.
 */
import { createServer } from 'node:http';

const items = Array.from({ length: 12 }, (_, i) => ({ id: `item_${String(i).padStart(4, '0')}`, name: `Item number ${i}`, done: i % 2 === 0 }));
let body = JSON.stringify({ data: items, nextCursor: null });
body = JSON.stringify({ data: items, nextCursor: null, pad: 'x'.repeat(Math.max(0, 1024 - body.length - 10)) });
const payload = Buffer.from(body);
const headers = { 'content-type': 'application/json', 'content-length': String(payload.length) };

const server = createServer((req, res) => {
  if (req.headers.authorization === undefined) {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_token"}');
    return;
  }
  res.writeHead(200, headers);
  res.end(payload);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port} ${payload.length}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
