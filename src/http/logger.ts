import { pino, type Logger, type DestinationStream } from 'pino';

interface Loggable {
  name?: string;
  code?: unknown;
  message?: string;
  stack?: string;
  cause?: unknown;
}

/**
 * Errors are logged by name, code, message and stack only — never their other properties, which
 * for protocol errors can hold a provider's response body. Messages are ours and carry no secret.
 */
function serializeError(e: unknown, depth = 0): unknown {
  if (!e || typeof e !== 'object') return { message: String(e) };
  const err = e as Loggable;
  return {
    type: err.name ?? 'Error',
    ...(typeof err.code === 'string' ? { code: err.code } : {}),
    message: err.message,
    stack: err.stack,
    ...(err.cause instanceof Error && depth < 3 ? { cause: serializeError(err.cause, depth + 1) } : {}),
  };
}

/**
 * The one logger. Requests are logged as method and path: no query string (callbacks carry `code`
 * and `state`), no header values, no bodies. Known secret-bearing keys are redacted wherever they appear.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    redact: {
      // An OAuth code would come inside a request's query or body; an error's or audit detail's `code` is Keyway's error code, kept readable.
      paths: ['*.authorization', '*.cookie', '*.accessToken', '*.refreshToken', '*.clientSecret', '*.apiKey', '*.password', 'query.code', 'body.code', '*.query.code', '*.body.code', 'headers'],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: { method?: string; url?: string; id?: unknown }) => ({ id: req.id, method: req.method, path: (req.url ?? '').split('?')[0] }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      err: serializeError,
    },
  }, destination ?? pino.destination(1));
}
