import { KeywayError } from '../core/errors.ts';
import type { Principal } from './api-keys.ts';

/**
 * A key limited to some connections works with those alone: it may not connect new accounts
 * (connect sessions) nor create connections, which it could not use anyway.
 */
export function requireMayAddConnections(p: Principal): void {
  if (p.scope.connections.length > 0) {
    throw new KeywayError('forbidden', 'A key limited to connections cannot add new ones; use a key without a connection limit.');
  }
}
