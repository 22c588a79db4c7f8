/**
 * `keyway master-key status | rewrap | generate`: master-key rotation from the command line.
 *
 * A rotation without downtime: (1) run every Keyway process with the new key in KEYWAY_MASTER_KEY
 * and the old one in KEYWAY_PREVIOUS_MASTER_KEYS; (2) `keyway master-key rewrap` once, with the same
 * settings; (3) when `keyway master-key status` shows every data key under the new key, remove the
 * old one from KEYWAY_PREVIOUS_MASTER_KEYS. Secrets are not re-encrypted: only the data keys that
 * wrap them are, so the command is quick and a run cut short is finished by running it again.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cryptoRandom, systemClock } from '../core/index.ts';
import { MASTER_KEY_BYTES, MASTER_KEY_FILE, type MasterKeys, createVault, dataKeysByMasterKey, loadMasterKeys } from '../vault/index.ts';
import { parseArgs } from './args.ts';
import { withStore } from './with-store.ts';

const USAGE = 'Usage: keyway master-key status [--data-dir DIR] | keyway master-key rewrap [--data-dir DIR] | keyway master-key generate';

export async function masterKeyCommand(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'generate') {
    // A new key for KEYWAY_MASTER_KEY; nothing is stored.
    out(`${Buffer.from(cryptoRandom.bytes(MASTER_KEY_BYTES)).toString('base64')}\n`);
    return 0;
  }
  if (sub !== 'status' && sub !== 'rewrap') throw new Error(USAGE);
  const { flags } = parseArgs(rest, { 'data-dir': 'string' });
  return withStore(flags['data-dir'] as string | undefined, async (store, _config, dataDir) => {
    if (process.env['KEYWAY_MASTER_KEY'] === undefined && !existsSync(join(dataDir, MASTER_KEY_FILE))) {
      // loadMasterKeys would make a new key file: never as a side effect of a key command.
      throw new Error(`No master key: KEYWAY_MASTER_KEY is not set and there is no ${join(dataDir, MASTER_KEY_FILE)}. Set the key the data was stored with.`);
    }
    const masterKeys = await loadMasterKeys({ dataDir, env: process.env, random: cryptoRandom });
    for (const w of masterKeys.warnings) process.stderr.write(`warning: ${w}\n`);
    if (sub === 'rewrap') {
      const vault = createVault({ masterKeys, dataKeys: store.dataKeys, random: cryptoRandom, clock: systemClock });
      const moved = await vault.rewrapDataKeys(); // throws, after moving what it could, when some key is not configured
      out(moved > 0
        ? `Re-wrapped ${moved} data key${moved === 1 ? '' : 's'} under the active master key ${masterKeys.active.kid}.\n`
        : `Every data key was already under the active master key ${masterKeys.active.kid}.\n`);
    }
    return report(masterKeys, await dataKeysByMasterKey(store.dataKeys), out);
  });
}

/** Where each data key stands; 1 when some are under a key that is not configured (their secrets cannot be read). */
function report(keys: MasterKeys, counts: Map<string, number>, out: (s: string) => void): number {
  const from = keys.source === 'env' ? 'KEYWAY_MASTER_KEY' : `the key file${keys.path ? ` ${keys.path}` : ''}`;
  out(`Active master key: ${keys.active.kid} (from ${from}).\n`);
  const kids = new Set([...keys.all.keys(), ...counts.keys()]);
  let missing = 0;
  let older = 0;
  for (const kid of kids) {
    const n = counts.get(kid) ?? 0;
    const role = kid === keys.active.kid ? 'active' : keys.all.has(kid) ? 'KEYWAY_PREVIOUS_MASTER_KEYS' : 'NOT CONFIGURED';
    if (role === 'NOT CONFIGURED') missing += n;
    if (role === 'KEYWAY_PREVIOUS_MASTER_KEYS') older += n;
    out(`  ${kid}  ${role.padEnd(27)}  ${n} data key${n === 1 ? '' : 's'}\n`);
  }
  if (missing > 0) {
    out(`${missing} data key${missing === 1 ? ' is' : 's are'} under a master key that is not configured: the secrets under ${missing === 1 ? 'it' : 'them'} cannot be decrypted. Add that key to KEYWAY_PREVIOUS_MASTER_KEYS, then run \`keyway master-key rewrap\`.\n`);
    return 1;
  }
  if (older > 0) out('Some data keys are still under an older key: run `keyway master-key rewrap` before removing it from KEYWAY_PREVIOUS_MASTER_KEYS.\n');
  else if (keys.all.size > 1) out('No data key is under the older keys: they can be removed from KEYWAY_PREVIOUS_MASTER_KEYS.\n');
  return 0;
}
