import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { ManualClock } from '../core/clock.ts';
import { isKeywayError } from '../core/errors.ts';
import { cryptoRandom } from '../core/random.ts';
import {
  type DataKeyRepository, type MasterKeys, type SecretContext, type WrappedDataKey,
  createMasterKeys, createVault, parseEnvelope,
} from './index.ts';

/** A store in memory. Like a real one with a unique (org, createdAt) index, a racing second insert throws. */
class MemoryDataKeys implements DataKeyRepository {
  readonly rows = new Map<string, WrappedDataKey>();
  conflicts = 0;
  async listDataKeys(orgId: string): Promise<WrappedDataKey[]> {
    return [...this.rows.values()].filter((r) => r.orgId === orgId).map((r) => ({ ...r }));
  }
  async insertDataKey(key: WrappedDataKey): Promise<void> {
    await Promise.resolve();
    if ([...this.rows.values()].some((r) => r.orgId === key.orgId && r.createdAt === key.createdAt)) {
      this.conflicts += 1;
      throw new Error('UNIQUE constraint failed: data_keys.org_id, data_keys.created_at');
    }
    this.rows.set(key.id, { ...key });
  }
  async updateDataKeyWrapping(id: string, masterKid: string, wrapped: string): Promise<void> {
    const row = this.rows.get(id);
    if (row === undefined) throw new Error(`no data key ${id}`);
    this.rows.set(id, { ...row, masterKid, wrapped });
  }
  async listAllDataKeys(): Promise<WrappedDataKey[]> {
    return [...this.rows.values()].map((r) => ({ ...r }));
  }
}

const SECRET = 'ya29.a0AfB_SECRET-access-token-value';
const ctx: SecretContext = { orgId: 'org_a', recordId: 'conn_1', field: 'access_token' };
const KEY_A = randomBytes(32);
const KEY_B = randomBytes(32);

function keys(active: Uint8Array, previous: Uint8Array[] = []): MasterKeys {
  return createMasterKeys({ active, previous, source: 'env' });
}

function setup(masterKeys: MasterKeys = keys(KEY_A), repo = new MemoryDataKeys(), clock = new ManualClock()) {
  return { vault: createVault({ masterKeys, dataKeys: repo, random: cryptoRandom, clock }), repo, clock };
}

async function rejectsWithVaultError(promise: Promise<unknown>, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isKeywayError(e, 'vault_error'), `expected vault_error, got ${String(e)}`);
    if (pattern !== undefined) assert.match(e.message, pattern);
    assert.ok(!e.message.includes(SECRET), 'the message must not hold the plaintext');
    return true;
  });
}

function flipByte(b64url: string, index: number): string {
  const bytes = Buffer.from(b64url, 'base64url');
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return bytes.toString('base64url');
}

test('a secret encrypted for a record decrypts to the same text', async () => {
  const { vault } = setup();
  for (const plaintext of [SECRET, '', 'пароль 🔑 密码']) {
    assert.equal(await vault.decrypt(ctx, await vault.encrypt(ctx, plaintext)), plaintext);
  }
});

test('the envelope is versioned JSON naming its data key and algorithm, and never holds the plaintext', async () => {
  const { vault, repo } = setup();
  const envelope = await vault.encrypt(ctx, SECRET);
  const json = JSON.parse(envelope) as Record<string, unknown>;
  assert.deepEqual(Object.keys(json), ['v', 'kid', 'alg', 'nonce', 'ct']);
  assert.equal(json.v, 1);
  assert.equal(json.alg, 'A256GCM');
  assert.match(String(json.kid), /^dk_/);
  assert.ok(repo.rows.has(String(json.kid)));
  assert.equal(parseEnvelope(envelope).nonce.length, 12);
  for (const form of [SECRET, Buffer.from(SECRET).toString('base64'), Buffer.from(SECRET).toString('base64url')]) {
    assert.ok(!envelope.includes(form));
  }
});

test('the same plaintext encrypts to a different envelope each time', async () => {
  const { vault } = setup();
  const one = await vault.encrypt(ctx, SECRET);
  const two = await vault.encrypt(ctx, SECRET);
  assert.notEqual(one, two);
  assert.notEqual(parseEnvelope(one).nonce.toString(), parseEnvelope(two).nonce.toString());
});

test('a ciphertext copied to another record, field or organization fails to decrypt', async () => {
  const { vault } = setup();
  await vault.encrypt({ ...ctx, orgId: 'org_b' }, 'org b has a data key too');
  const envelope = await vault.encrypt(ctx, SECRET);
  const moved = /could not decrypt .*moved between records or wrong master key/;
  await rejectsWithVaultError(vault.decrypt({ ...ctx, recordId: 'conn_2' }, envelope), moved);
  await rejectsWithVaultError(vault.decrypt({ ...ctx, field: 'refresh_token' }, envelope), moved);
  await rejectsWithVaultError(vault.decrypt({ ...ctx, orgId: 'org_b' }, envelope), /does not belong to this organization/);
  await rejectsWithVaultError(vault.decrypt({ ...ctx, orgId: 'org_c' }, envelope), /does not belong to this organization/);
});

test('a tampered ciphertext or nonce fails to decrypt', async () => {
  const { vault } = setup();
  const envelope = JSON.parse(await vault.encrypt(ctx, SECRET)) as Record<string, string>;
  const tampered = [
    { ...envelope, ct: flipByte(envelope.ct ?? '', 0) },
    { ...envelope, ct: flipByte(envelope.ct ?? '', Buffer.from(envelope.ct ?? '', 'base64url').length - 1) },
    { ...envelope, nonce: flipByte(envelope.nonce ?? '', 5) },
  ];
  for (const e of tampered) await rejectsWithVaultError(vault.decrypt(ctx, JSON.stringify(e)), /could not decrypt/);
  await rejectsWithVaultError(vault.decrypt(ctx, JSON.stringify({ ...envelope, kid: 'dk_unknown' })), /dk_unknown/);
});

test('master-key rotation: the old key is still accepted, data keys are re-wrapped, then the new key alone decrypts', async () => {
  const repo = new MemoryDataKeys();
  const before = setup(keys(KEY_A), repo).vault;
  const envelope = await before.encrypt(ctx, SECRET);
  const other = await before.encrypt({ ...ctx, orgId: 'org_b' }, 'second org');

  const during = setup(keys(KEY_B, [KEY_A]), repo).vault;
  assert.equal(await during.decrypt(ctx, envelope), SECRET);
  assert.equal(await during.needsReEncryption(ctx.orgId, envelope), true);
  assert.equal(await during.rewrapDataKeys(), 2);
  assert.equal(await during.rewrapDataKeys(), 0);
  assert.equal(await during.needsReEncryption(ctx.orgId, envelope), false);
  assert.ok([...repo.rows.values()].every((r) => r.masterKid === keys(KEY_B).active.kid));

  const after = setup(keys(KEY_B), repo).vault;
  assert.equal(await after.decrypt(ctx, envelope), SECRET);
  assert.equal(await after.decrypt({ ...ctx, orgId: 'org_b' }, other), 'second org');
});

test('a vault started with the wrong master key says which key it needs', async () => {
  const repo = new MemoryDataKeys();
  const envelope = await setup(keys(KEY_A), repo).vault.encrypt(ctx, SECRET);
  const wrong = setup(keys(randomBytes(32)), repo).vault;
  const needed = keys(KEY_A).active.kid;
  await rejectsWithVaultError(wrong.decrypt(ctx, envelope), new RegExp(`${needed}, which is not configured`));
  await rejectsWithVaultError(wrong.rewrapDataKeys(), new RegExp(`not configured \\(${needed}\\)`));

  // A wrapped data key copied onto another row fails to unwrap: it is bound to its org and id.
  const [row] = [...repo.rows.values()];
  assert.ok(row !== undefined);
  repo.rows.set('dk_copy', { ...row, id: 'dk_copy', createdAt: new Date(Date.parse(row.createdAt) + 1).toISOString() });
  await rejectsWithVaultError(setup(keys(KEY_A), repo).vault.encrypt(ctx, 'x'), /could not unwrap data key dk_copy/);
});

test('data-key rotation: new secrets use the new key, old ones still decrypt and are flagged for re-encryption', async () => {
  const { vault } = setup();
  const old = await vault.encrypt(ctx, SECRET);
  const newKid = await vault.rotateDataKey(ctx.orgId);
  assert.notEqual(newKid, parseEnvelope(old).kid);
  const fresh = await vault.encrypt(ctx, SECRET);
  assert.equal(parseEnvelope(fresh).kid, newKid);
  assert.equal(await vault.decrypt(ctx, old), SECRET);
  assert.equal(await vault.needsReEncryption(ctx.orgId, old), true);
  assert.equal(await vault.needsReEncryption(ctx.orgId, fresh), false);
  const reEncrypted = await vault.encrypt(ctx, await vault.decrypt(ctx, old));
  assert.equal(await vault.needsReEncryption(ctx.orgId, reEncrypted), false);
});

test('concurrent first encryptions for a new organization create one data key', async () => {
  const { vault, repo } = setup();
  const envelopes = await Promise.all(
    Array.from({ length: 25 }, (_, i) => vault.encrypt({ ...ctx, recordId: `conn_${i}` }, `secret ${i}`)),
  );
  assert.equal(repo.rows.size, 1);
  assert.equal(repo.conflicts, 0, 'one insert, not many racing ones caught by the store');
  assert.equal(new Set(envelopes.map((e) => parseEnvelope(e).kid)).size, 1);
});

test('two processes encrypting for a new organization at once end up sharing one data key', async () => {
  const repo = new MemoryDataKeys();
  const clock = new ManualClock();
  const one = setup(keys(KEY_A), repo, clock).vault;
  const two = setup(keys(KEY_A), repo, clock).vault;
  const [a, b] = await Promise.all([one.encrypt(ctx, 'from one'), two.encrypt({ ...ctx, recordId: 'conn_2' }, 'from two')]);
  assert.equal(repo.rows.size, 1);
  assert.equal(repo.conflicts, 1, 'the second insert was refused and the vault re-listed');
  assert.equal(await two.decrypt(ctx, a), 'from one');
  assert.equal(await one.decrypt({ ...ctx, recordId: 'conn_2' }, b), 'from two');
});

test('a data-key rotation by another process is used here within the key-list lifetime', async () => {
  const repo = new MemoryDataKeys();
  const clock = new ManualClock();
  const here = setup(keys(KEY_A), repo, clock).vault;
  const there = setup(keys(KEY_A), repo, clock).vault;
  const old = await here.encrypt(ctx, SECRET);
  const rotated = await there.rotateDataKey(ctx.orgId);
  assert.equal(await here.decrypt(ctx, await there.encrypt(ctx, SECRET)), SECRET);
  clock.advance(60_001);
  assert.equal(parseEnvelope(await here.encrypt(ctx, SECRET)).kid, rotated);
  assert.equal(await here.needsReEncryption(ctx.orgId, old), true);
});

test('errors and inspected objects never show the plaintext or key material', async () => {
  const masterKeys = keys(KEY_A);
  const { vault, repo } = setup(masterKeys);
  const envelope = await vault.encrypt(ctx, SECRET);
  await rejectsWithVaultError(vault.decrypt(ctx, SECRET), /not a valid vault envelope: it is not JSON/);
  await rejectsWithVaultError(vault.decrypt(ctx, JSON.stringify({ v: 1, kid: SECRET })), /not a valid vault envelope/);
  await rejectsWithVaultError(vault.decrypt({ ...ctx, recordId: 'conn_9' }, envelope));
  const shown = inspect({ masterKeys, vault }, { depth: 10 }) + JSON.stringify(masterKeys) + JSON.stringify([...repo.rows.values()]);
  for (const form of [KEY_A.toString('base64'), KEY_A.toString('base64url'), KEY_A.toString('hex'), SECRET]) {
    assert.ok(!shown.includes(form));
  }
});

test('a secret context with an empty part or a NUL is refused', async () => {
  const { vault } = setup();
  await rejectsWithVaultError(vault.encrypt({ ...ctx, recordId: '' }, SECRET), /recordId/);
  await rejectsWithVaultError(vault.encrypt({ ...ctx, orgId: 'org\u0000x' }, SECRET), /orgId/);
  await rejectsWithVaultError(vault.decrypt({ ...ctx, field: 'f'.repeat(300) }, '{}'), /field/);
});

test('a vault cannot be created without an active master key', () => {
  const noKey = { active: { kid: 'mk_x' }, all: new Map(), source: 'env', warnings: [] } as unknown as MasterKeys;
  assert.throws(() => createVault({ masterKeys: noKey, dataKeys: new MemoryDataKeys(), random: cryptoRandom, clock: new ManualClock() }),
    (e: unknown) => isKeywayError(e, 'vault_error'));
});
