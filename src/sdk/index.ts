/**
 * Keyway's TypeScript SDK: a small client for Keyway's REST API and gateway, on `fetch` alone (no
 * dependencies, nothing from the server's code), so an app can import it or copy it.
 *
 *   import { Keyway } from 'keyway/sdk';
 *   const keyway = new Keyway({ url: 'http://127.0.0.1:3030', apiKey: process.env.KEYWAY_API_KEY! });
 *   const res = await keyway.proxy('conn_…', 'me');
 */
export { Keyway } from './client.ts';
export { type KeywayOptions } from './http.ts';
export { KeywayApiError, KeywayUnreachableError, KeywayWaitTimeout } from './errors.ts';
export { type ProxyInit } from './gateway.ts';
export type { WaitOptions } from './connections.ts';
export type * from './types.ts';
