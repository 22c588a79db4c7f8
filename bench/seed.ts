/**
 * Fills a Keyway data folder with connections, as a real deployment would hold them: one
 * organization, one integration, owned by its first member (whose key the bench calls with), `count` connections with random ids, of which the first `hot`
 * get real sealed access tokens (the bench calls those). The others carry sealed-looking envelopes
 * of the same size (never decrypted). Rows go in through the store's own repositories, in
 * transactions of 20,000.
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { type Random, cryptoRandom, randomToken } from '../src/core/random.ts';
import { systemClock } from '../src/core/clock.ts';
import { newId } from '../src/core/ids.ts';
import { openSqlite } from '../src/store/sqlite/sqlite-executor.ts';
import { openPostgres } from '../src/store/postgres/pg-executor.ts';
import { createSqlStore } from '../src/store/store.ts';
import { createVault, loadMasterKeys } from '../src/vault/index.ts';
import { parseDefinition } from '../src/catalog/index.ts';
import { blankConnection } from '../src/connect/connection-record.ts';
import type { ConnectionRecord } from '../src/store/index.ts';

const BATCH = 20_000;

/** Ids need 16 random bytes each; drawn 64 KB at a time, a million rows take seconds, not minutes. */
function pooled(): Random {
  let pool = Buffer.alloc(0);
  let at = 0;
  return {
    bytes(n: number) {
      if (at + n > pool.length) { pool = randomBytes(65_536); at = 0; }
      at += n;
      return new Uint8Array(pool.subarray(at - n, at));
    },
  };
}
const DAY = 86_400_000;

export interface SeedResult {
  /** Ids of the connections created with real tokens (index below `hot`). */
  hot: string[];
  ms: number;
}

/**
 * Creates connections number `from` to `to - 1` of the integration; those numbered below `hot` get
 * real sealed tokens and are returned.
 */
export async function seedConnections(dataDir: string, integrationId: string, range: { from: number; to: number; hot: number }, databaseUrl: string | null = null): Promise<SeedResult> {
  const started = performance.now();
  // The same store Keyway uses: the data folder's SQLite file, or PostgreSQL (`--store postgres`).
  const sql = databaseUrl ? openPostgres({ connectionString: databaseUrl, statementTimeoutMs: 600_000 }) : openSqlite(join(dataDir, 'keyway.db'));
  const store = createSqlStore(sql);
  try {
    const org = (await store.orgs.list())[0];
    if (!org) throw new Error('the data folder has no organization; start Keyway once first');
    const owner = (await store.members.list(org.id))[0];
    if (!owner) throw new Error('the organization has no member');
    const integration = await store.integrations.get(org.id, integrationId);
    if (!integration) throw new Error(`no integration ${integrationId}`);
    const masterKeys = await loadMasterKeys({ dataDir, env: process.env, random: cryptoRandom });
    const vault = createVault({ masterKeys, dataKeys: store.dataKeys, random: cryptoRandom, clock: systemClock });
    const def = parseDefinition({ id: 'custom', name: 'Bench API' }, 'bench');
    const now = systemClock.now();
    // Cold rows carry envelopes of the real size, sealed for another record: never opened.
    const filler = {
      access: await vault.encrypt({ orgId: org.id, recordId: 'conn_filler', field: 'access_token' }, `bench-token-${randomToken(cryptoRandom, 24)}`),
      refresh: await vault.encrypt({ orgId: org.id, recordId: 'conn_filler', field: 'refresh_token' }, randomToken(cryptoRandom, 32)),
    };
    const hotIds: string[] = [];
    const ids = pooled();
    const make = async (i: number): Promise<ConnectionRecord> => {
      const id = newId('connection', ids);
      const c = blankConnection({
        id, orgId: org.id, integration, def, kind: 'oauth2', ownerMemberId: owner.id,
        choices: { name: `Bench connection ${i}`, externalId: `user-${i}` }, requestedScopes: ['read', 'write'], account: null, now: now - range.to + i,
      });
      c.tokenType = 'bearer';
      c.expiresAt = now + 30 * DAY;
      c.obtainedAt = now;
      if (i < range.hot) {
        c.accessTokenEnc = await vault.encrypt({ orgId: org.id, recordId: id, field: 'access_token' }, `bench-token-${randomToken(cryptoRandom, 24)}`);
        c.refreshTokenEnc = await vault.encrypt({ orgId: org.id, recordId: id, field: 'refresh_token' }, randomToken(cryptoRandom, 32));
        hotIds.push(id);
      } else {
        c.accessTokenEnc = filler.access;
        c.refreshTokenEnc = filler.refresh;
      }
      return c;
    };
    for (let i = range.from; i < range.to;) {
      const batch: ConnectionRecord[] = [];
      for (; i < range.to && batch.length < BATCH; i++) batch.push(await make(i));
      await sql.transaction(async (tx) => {
        const s = createSqlStore(tx);
        for (const rec of batch) await s.connections.insert(rec);
      });
      if (Math.floor(i / 100_000) > Math.floor((i - batch.length) / 100_000)) process.stderr.write(`  seeded ${i.toLocaleString('en')} connections\n`);
    }
    return { hot: hotIds, ms: performance.now() - started };
  } finally {
    await sql.close();
  }
}
