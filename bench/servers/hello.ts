/** The floor for an API answer in Node: node:http saying hello in JSON, nothing else. */
import { createServer } from 'node:http';

const payload = Buffer.from('{"hello":"world"}');
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(payload.length) });
  res.end(payload);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
