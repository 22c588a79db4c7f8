/**
 * What an API key may do beyond its own calls: the keys it creates, the integrations and
 * administration its limits allow, whose keys it sees, and what the key gate keeps in memory.
 * Regression tests for the access-control review (review-keys #3, #5–#9, #12).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseDefinition } from '../src/catalog/index.ts';
import { type ApiResponse, type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { type Upstream, startUpstream } from './helpers/upstream.ts';

/** The error a refused call answered with: status, `Keyway-Error` and the body's code agree. */
function refused(res: ApiResponse, status: number, code: string, message: RegExp): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.headers.get('keyway-error'), code);
  assert.equal(res.body.error.code, code);
  assert.match(res.body.error.message, message);
}

describe('API keys: limits on what a key may do', () => {
  let t: TestKeyway;
  let upstream: Upstream;
  let int1: string;
  let int2: string;

  before(async () => {
    upstream = await startUpstream();
    const api = (id: string) => parseDefinition({ id, name: id, grants: [], credential: 'api_key', api: { baseUrls: [upstream.url] } }, 'test');
    t = await startTestKeyway({ extraDefinitions: [api('limits-one'), api('limits-two')] });
    int1 = (await t.api('POST', '/v1/integrations', { provider: 'limits-one' })).body.id;
    int2 = (await t.api('POST', '/v1/integrations', { provider: 'limits-two' })).body.id;
  });
  after(async () => {
    await t.close();
    await upstream.close();
  });

  test('made-up keys are refused with 401 and the key gate keeps nothing of them (#6)', async () => {
    const held = t.kw.services.keys.size;
    for (let i = 0; i < 200; i++) {
      const huge = await t.api('GET', '/v1/me', undefined, `kw_${i}_${'x'.repeat(15_000)}`);
      refused(huge, 401, 'unauthorized', /not a Keyway API key.*keyway keys create/);
      const unknown = await t.api('GET', '/v1/me', undefined, `kw_${String(i).padStart(43, 'u')}`);
      refused(unknown, 401, 'unauthorized', /unknown or revoked/);
    }
    assert.equal(t.kw.services.keys.size, held);
    assert.equal((await t.api('GET', '/v1/me')).status, 200, 'a real key still works');
  });
});
