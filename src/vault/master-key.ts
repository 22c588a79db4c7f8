import { type KeyObject, createHash, createSecretKey } from 'node:crypto';
import { link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KeywayError } from '../core/errors.ts';
import { type Random, cryptoRandom } from '../core/random.ts';
import { randomBytesExactly } from './aead.ts';

export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_FILE = 'master.key';
const HOW_TO_GENERATE = 'Generate one with: openssl rand -base64 32';

/** A master key: wraps data keys, never encrypts a secret itself. `kid` is derived from the key. */
export interface MasterKey {
  readonly kid: string;
  readonly key: KeyObject;
}

export type MasterKeySource = 'env' | 'file' | 'generated';

export interface MasterKeys {
  /** Wraps every new data key. */
  readonly active: MasterKey;
  /** Every key accepted for unwrapping, by kid: the active one and KEYWAY_PREVIOUS_MASTER_KEYS. */
  readonly all: ReadonlyMap<string, KeyObject>;
  readonly source: MasterKeySource;
  /** The key file, when the active key came from (or was generated into) one. */
  readonly path?: string;
  /** Things the operator should hear about at startup (the caller logs them). Never hold key material. */
  readonly warnings: readonly string[];
}

export interface LoadMasterKeysOptions {
  /** Where `master.key` lives (default deployments: `./.keyway`). */
  dataDir: string;
  env: Readonly<Record<string, string | undefined>>;
  random?: Random;
}

/** `mk_` + 12 hex of SHA-256("keyway-master-key-id" || key): stable, says which key, reveals nothing. */
export function masterKeyId(key: Uint8Array): string {
  const digest = createHash('sha256').update('keyway-master-key-id').update(key).digest('hex');
  return `mk_${digest.slice(0, 12)}`;
}

/** Builds MasterKeys from raw 32-byte keys (the active one first). Pure: used by loadMasterKeys and tests. */
export function createMasterKeys(input: {
  active: Uint8Array;
  previous?: readonly Uint8Array[];
  source: MasterKeySource;
  path?: string;
  warnings?: readonly string[];
}): MasterKeys {
  const toKey = (bytes: Uint8Array): MasterKey => {
    if (bytes.length !== MASTER_KEY_BYTES) {
      throw new KeywayError('vault_error', `a master key must be ${MASTER_KEY_BYTES} bytes. ${HOW_TO_GENERATE}`);
    }
    return { kid: masterKeyId(bytes), key: createSecretKey(Buffer.from(bytes)) };
  };
  const active = toKey(input.active);
  const all = new Map<string, KeyObject>([[active.kid, active.key]]);
  for (const bytes of input.previous ?? []) {
    const older = toKey(bytes);
    if (!all.has(older.kid)) all.set(older.kid, older.key);
  }
  const base = { active, all, source: input.source, warnings: [...(input.warnings ?? [])] };
  return input.path === undefined ? base : { ...base, path: input.path };
}

/**
 * Loads the master keys, refusing to start without one: there is no path on which encryption is off.
 *
 * 1. `KEYWAY_MASTER_KEY` (base64 of 32 bytes) when set — an empty or malformed value is an error,
 *    never a silent fall-back to the key file.
 * 2. Otherwise `${dataDir}/master.key`; on first start it is generated there (directory 0700, file
 *    0600, written whole and linked into place exclusively, so processes starting together agree).
 *
 * `KEYWAY_PREVIOUS_MASTER_KEYS` (comma-separated base64) are older keys still accepted for
 * unwrapping during a rotation; `Vault.rewrapDataKeys()` (`keyway master-key rewrap`) moves data keys off them.
 */
export async function loadMasterKeys(options: LoadMasterKeysOptions): Promise<MasterKeys> {
  const { dataDir, env, random = cryptoRandom } = options;
  const previous = parsePreviousKeys(env.KEYWAY_PREVIOUS_MASTER_KEYS);
  const path = join(dataDir, MASTER_KEY_FILE);
  const fromEnv = env.KEYWAY_MASTER_KEY;
  try {
    if (fromEnv !== undefined) {
      const keys = build({ active: decodeOrThrow(fromEnv, 'KEYWAY_MASTER_KEY'), previous, source: 'env' });
      const warning = await ignoredKeyFileWarning(path, keys);
      return warning === undefined ? keys : { ...keys, warnings: [warning] };
    }
    const existing = await readKeyFile(path);
    if (existing !== undefined) return build({ ...existing, previous, source: 'file', path });
    return build({ ...(await createKeyFile(dataDir, path, random)), previous, path });
  } finally {
    for (const bytes of previous) bytes.fill(0);
  }
}

/** createMasterKeys, then zero the raw active key: from here on it lives only inside a KeyObject. */
function build(input: Parameters<typeof createMasterKeys>[0]): MasterKeys {
  try {
    return createMasterKeys(input);
  } finally {
    input.active.fill(0);
  }
}

type Decoded = { ok: true; bytes: Uint8Array } | { ok: false; problem: string };

function decodeKey(value: string): Decoded {
  const text = value.trim();
  if (text === '') return { ok: false, problem: 'is empty' };
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return { ok: false, problem: 'is not base64' };
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === MASTER_KEY_BYTES) return { ok: true, bytes: new Uint8Array(bytes) };
  const hex = /^[0-9a-fA-F]{64}$/.test(text) ? ' (it looks like hex; base64 is expected)' : '';
  return { ok: false, problem: `decodes to ${bytes.length} bytes instead of ${MASTER_KEY_BYTES}${hex}` };
}

function decodeOrThrow(value: string, name: string): Uint8Array {
  const decoded = decodeKey(value);
  if (decoded.ok) return decoded.bytes;
  const unset = decoded.problem === 'is empty' ? ' Unset it to use the key file in the data directory, or set it to a key.' : '';
  throw new KeywayError('vault_error', `${name} ${decoded.problem}; it must be 32 random bytes in base64.${unset} ${HOW_TO_GENERATE}`);
}

function parsePreviousKeys(value: string | undefined): Uint8Array[] {
  if (value === undefined || value.trim() === '') return [];
  const entries = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return entries.map((entry, i) => decodeOrThrow(entry, `KEYWAY_PREVIOUS_MASTER_KEYS entry ${i + 1}`));
}

/** The key file's key, or undefined when there is no file. Any other problem stops startup. */
async function readKeyFile(path: string): Promise<{ active: Uint8Array; warnings: string[] } | undefined> {
  let text: string;
  let mode: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new KeywayError('vault_error', `master key file ${path} is not a regular file`);
    mode = info.mode & 0o777;
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if (isErrno(cause, 'ENOENT')) return undefined;
    if (cause instanceof KeywayError) throw cause;
    throw new KeywayError('vault_error', `could not read master key file ${path} (${errnoCode(cause)})`, { cause });
  }
  const decoded = decodeKey(text);
  if (!decoded.ok) {
    throw new KeywayError('vault_error',
      `master key file ${path} ${decoded.problem}; it must hold 32 bytes in base64. Restore it from backup: ` +
      'a new key cannot decrypt secrets stored under the old one.');
  }
  const warnings: string[] = [];
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    warnings.push(`master key file ${path} has mode 0${mode.toString(8)}, so other users may read it. Run: chmod 600 ${path}`);
  }
  return { active: decoded.bytes, warnings };
}

/**
 * Generates the key file. The key is written whole to a private temp file, synced, then hard-linked
 * to `master.key`: link() fails with EEXIST instead of replacing, so when processes start together
 * exactly one key wins and the others read it (never a half-written file).
 */
async function createKeyFile(dataDir: string, path: string, random: Random):
  Promise<{ active: Uint8Array; source: MasterKeySource; warnings: string[] }> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytesExactly(random, MASTER_KEY_BYTES, 'master key');
  const tmp = join(dataDir, `.${MASTER_KEY_FILE}.${process.pid}.${Buffer.from(randomBytesExactly(random, 8, 'file name')).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.chmod(0o600); // exactly 0600, whatever the umask
      await handle.writeFile(`${Buffer.from(key).toString('base64')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (cause) {
    throw new KeywayError('vault_error', `could not write a new master key in ${dataDir} (${errnoCode(cause)})`, { cause });
  }
  let won = false;
  try {
    await link(tmp, path);
    won = true;
  } catch (cause) {
    if (!isErrno(cause, 'EEXIST')) {
      throw new KeywayError('vault_error', `could not create master key file ${path} (${errnoCode(cause)})`, { cause });
    }
  } finally {
    await rm(tmp, { force: true });
  }
  if (!won) {
    const winner = await readKeyFile(path);
    if (winner === undefined) throw new KeywayError('vault_error', `master key file ${path} vanished while starting`);
    return { ...winner, source: 'file' };
  }
  await syncDirectory(dataDir);
  return {
    active: key,
    source: 'generated',
    warnings: [`generated a new master key in ${path}. Back it up: without it, stored secrets cannot be decrypted.`],
  };
}

/** KEYWAY_MASTER_KEY wins over the file; say so when the file holds a key that is not configured. */
async function ignoredKeyFileWarning(path: string, keys: MasterKeys): Promise<string | undefined> {
  const file = await readKeyFile(path).catch((cause: unknown) => cause as Error);
  if (file === undefined) return undefined;
  const configured = !(file instanceof Error) && keys.all.has(masterKeyId(file.active));
  if (!(file instanceof Error)) file.active.fill(0);
  if (!configured) {
    return `KEYWAY_MASTER_KEY is set, so the key file ${path} is not used. If secrets were stored under it, ` +
      'add its key to KEYWAY_PREVIOUS_MASTER_KEYS until `keyway master-key rewrap` has run.';
  }
  return undefined;
}

async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isErrno(e: unknown, code: string): boolean {
  return errnoCode(e) === code;
}

function errnoCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}
