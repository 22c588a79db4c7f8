import type { Socket } from 'node:net';

/** Node's parser codes for a request whose headers are larger than it accepts (`--max-http-header-size`, 16 KB). */
const TOO_LARGE = new Set(['HPE_HEADER_OVERFLOW']);

/** What a request that is not valid HTTP/1.1 gets told, by what Node's parser refused. */
function problemOf(code: string | undefined): { status: number; reason: string; message: string } {
  if (code !== undefined && TOO_LARGE.has(code)) {
    return { status: 431, reason: 'Request Header Fields Too Large', message: 'The request\'s headers are larger than Keyway accepts (16 KB in all). Send fewer or smaller headers.' };
  }
  if (code === 'HPE_INVALID_METHOD') {
    return { status: 400, reason: 'Bad Request', message: 'The request\'s method is not one Keyway can read. Send it with a standard HTTP method.' };
  }
  return {
    status: 400, reason: 'Bad Request',
    message: 'The request is not valid HTTP/1.1, so it was not read. Percent-encode characters outside ASCII in the path and query, and send header values of visible ASCII without line breaks.',
  };
}

/**
 * Answers a request Node's HTTP parser refused before any route saw it (raw UTF-8 in the path, a
 * header too large, a control character in a header value) in Keyway's own shape — `Keyway-Error`
 * and `{"error": {code, message}}` saying what to do — instead of the framework's generic one; then
 * closes the connection, whose stream can no longer be trusted.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const p = problemOf(err.code);
  const body = JSON.stringify({ error: { code: 'invalid_request', message: p.message } });
  socket.end(`HTTP/1.1 ${p.status} ${p.reason}\r\ncontent-type: application/json; charset=utf-8\r\nkeyway-error: invalid_request\r\ncache-control: no-store\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
