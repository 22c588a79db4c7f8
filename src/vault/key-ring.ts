import { KeywayError } from '../core/errors.ts';
import type { DataKeyRepository } from './data-key-wrap.ts';
import type { MasterKeys } from './master-key.ts';

/** How many data keys each master key (by kid) wraps. */
export async function dataKeysByMasterKey(dataKeys: Pick<DataKeyRepository, 'listAllDataKeys'>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const row of await dataKeys.listAllDataKeys()) counts.set(row.masterKid, (counts.get(row.masterKid) ?? 0) + 1);
  return counts;
}

/**
 * Start-up's check that the configured master keys are the ones the stored data was encrypted with.
 * Started with a mistyped KEYWAY_MASTER_KEY, Keyway would answer every secret with an error and
 * seal what is stored next (a new organization's data key) under the wrong key, splitting the data.
 */
export function refuseMisfitMasterKeys(keys: MasterKeys, byKid: ReadonlyMap<string, number>): void {
  const unknown = [...byKid].filter(([kid]) => !keys.all.has(kid));
  if (unknown.length === 0) return;
  const n = unknown.reduce((a, [, c]) => a + c, 0);
  const from = keys.source === 'env' ? 'KEYWAY_MASTER_KEY' : `the key file${keys.path ? ` ${keys.path}` : ''}`;
  throw new KeywayError('vault_error', `${n} stored data key${n === 1 ? ' is' : 's are'} wrapped under a master key that is not configured (${unknown.map(([kid]) => kid).join(', ')}); the active one, from ${from}, is ${keys.active.kid}. Keyway did not start, so nothing was written under the wrong key. Set KEYWAY_MASTER_KEY to the key this data was encrypted with (during a rotation, the old one in KEYWAY_PREVIOUS_MASTER_KEYS); \`keyway master-key status\` lists them.`);
}

/** Start-up's refusal when the data holds encrypted secrets and no master key is configured or on disk. */
export function missingMasterKey(keyFile: string): KeywayError {
  return new KeywayError('vault_error', `This data holds encrypted secrets, but no master key was found (no KEYWAY_MASTER_KEY, no ${keyFile}). A new key could not decrypt them, so none was made. Restore ${keyFile} from your backup, or set KEYWAY_MASTER_KEY to the key the data was encrypted with.`);
}
