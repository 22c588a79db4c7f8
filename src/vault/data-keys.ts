import { type KeyObject, createSecretKey } from 'node:crypto';
import { type Clock, iso } from '../core/clock.ts';
import { KeywayError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Random } from '../core/random.ts';
import { randomBytesExactly } from './aead.ts';
import {
  DATA_KEY_BYTES, type DataKeyRepository, type WrappedDataKey, unwrapDataKey, unwrapDataKeyBytes, wrapDataKey,
} from './data-key-wrap.ts';
import type { MasterKeys } from './master-key.ts';

export interface DataKeyRingDeps {
  masterKeys: MasterKeys;
  repo: DataKeyRepository;
  random: Random;
  clock: Clock;
  /** How long an organization's key list is trusted before it is re-read (rotations by other processes). */
  listTtlMs: number;
}

interface OrgEntry {
  /** Newest first. */
  readonly rows: readonly WrappedDataKey[];
  readonly loadedAt: number;
}

/**
 * The data keys of every organization: one random 32-byte key per organization, stored wrapped under
 * the active master key; the newest seals new secrets, older ones still open old ones.
 *
 * Unwrapped keys are cached for the life of the process (a key id's bytes never change). The list of
 * an organization's keys is re-read after `listTtlMs`, so a rotation in another process takes effect.
 * Work that creates keys runs one at a time per organization (in-process single-flight); across
 * processes, an insert the repository refuses is answered by re-listing and using the winner's key.
 */
export class DataKeyRing {
  private readonly deps: DataKeyRingDeps;
  private readonly orgs = new Map<string, OrgEntry>();
  private readonly unwrapped = new Map<string, { orgId: string; key: KeyObject }>();
  private readonly tails = new Map<string, Promise<void>>();

  constructor(deps: DataKeyRingDeps) {
    this.deps = deps;
  }

  /** The organization's newest data key, created on first use. */
  async current(orgId: string): Promise<{ id: string; key: KeyObject }> {
    const entry = await this.entry(orgId, false);
    const newest = entry.rows[0] ?? (await this.serial(orgId, async () => {
      const fresh = await this.reload(orgId);
      return fresh.rows[0] ?? (await this.insertNew(orgId, undefined));
    }));
    return { id: newest.id, key: this.keyOf(newest) };
  }

  /** The data key `id`, which must belong to `orgId`. */
  async key(orgId: string, id: string): Promise<KeyObject> {
    const hit = this.unwrapped.get(id);
    if (hit !== undefined) {
      if (hit.orgId !== orgId) throw notInOrg(id);
      return hit.key;
    }
    const { row } = await this.find(orgId, id);
    return this.keyOf(row);
  }

  /** Whether `id` is the organization's newest key, and which master key wraps it. */
  async describe(orgId: string, id: string): Promise<{ newest: boolean; masterKid: string }> {
    const { row, entry } = await this.find(orgId, id);
    return { newest: entry.rows[0]?.id === id, masterKid: row.masterKid };
  }

  async rotate(orgId: string): Promise<string> {
    return this.serial(orgId, async () => {
      const entry = await this.reload(orgId);
      return (await this.insertNew(orgId, entry.rows[0])).id;
    });
  }

  /** Re-wraps every data key not under the active master key; the keys themselves do not change. */
  async rewrapAll(): Promise<number> {
    const { masterKeys, repo, random } = this.deps;
    const active = masterKeys.active;
    let count = 0;
    const missing = new Set<string>();
    const failed: KeywayError[] = [];
    for (const row of await repo.listAllDataKeys()) {
      if (row.masterKid === active.kid) continue;
      if (!masterKeys.all.has(row.masterKid)) {
        missing.add(row.masterKid);
        continue;
      }
      let wrapped: string;
      try {
        const bytes = unwrapDataKeyBytes(masterKeys, row);
        try {
          wrapped = wrapDataKey(active, row.orgId, row.id, bytes, random);
        } finally {
          bytes.fill(0);
        }
      } catch (cause) {
        failed.push(cause instanceof KeywayError ? cause : new KeywayError('vault_error', `data key ${row.id} could not be re-wrapped`, { cause }));
        continue;
      }
      await repo.updateDataKeyWrapping(row.id, active.kid, wrapped);
      this.replaceRow({ ...row, masterKid: active.kid, wrapped });
      count += 1;
    }
    if (missing.size > 0 || failed.length > 0) {
      const parts = [
        missing.size > 0 ? `some are wrapped under master keys that are not configured (${[...missing].join(', ')})` : '',
        failed.length > 0 ? `${failed.length} could not be unwrapped (${failed.map((e) => e.message).join('; ')})` : '',
      ].filter((p) => p !== '');
      throw new KeywayError('vault_error', `re-wrapped ${count} data keys, but ${parts.join(' and ')}`, {
        details: { rewrapped: count, missingMasterKids: [...missing] },
        cause: failed.length > 0 ? new AggregateError(failed, 'data keys that could not be re-wrapped') : undefined,
      });
    }
    return count;
  }

  private keyOf(row: WrappedDataKey): KeyObject {
    const hit = this.unwrapped.get(row.id);
    if (hit !== undefined) return hit.key;
    const key = unwrapDataKey(this.deps.masterKeys, row);
    this.unwrapped.set(row.id, { orgId: row.orgId, key });
    return key;
  }

  private async find(orgId: string, id: string): Promise<{ row: WrappedDataKey; entry: OrgEntry }> {
    let entry = await this.entry(orgId, false);
    let row = entry.rows.find((r) => r.id === id);
    if (row === undefined) {
      entry = await this.entry(orgId, true); // created by another process since we last looked?
      row = entry.rows.find((r) => r.id === id);
    }
    if (row === undefined) throw notInOrg(id);
    return { row, entry };
  }

  private async entry(orgId: string, force: boolean): Promise<OrgEntry> {
    const seen = this.orgs.get(orgId);
    if (seen !== undefined && !force && this.fresh(seen)) return seen;
    return this.serial(orgId, async () => {
      const now = this.orgs.get(orgId);
      // Someone re-read the list while we waited: use theirs.
      if (now !== undefined && (now !== seen || !force) && this.fresh(now)) return now;
      return this.reload(orgId);
    });
  }

  private fresh(entry: OrgEntry): boolean {
    return this.deps.clock.now() - entry.loadedAt < this.deps.listTtlMs;
  }

  /** Only inside serial(). */
  private async reload(orgId: string): Promise<OrgEntry> {
    const rows = await this.deps.repo.listDataKeys(orgId);
    if (rows.some((r) => r.orgId !== orgId)) {
      throw new KeywayError('vault_error', `the data key store returned a key of another organization for ${orgId}`);
    }
    const entry = { rows: newestFirst(rows), loadedAt: this.deps.clock.now() };
    this.orgs.set(orgId, entry);
    return entry;
  }

  /** Only inside serial(). `newest` is the key this one replaces, if any. */
  private async insertNew(orgId: string, newest: WrappedDataKey | undefined): Promise<WrappedDataKey> {
    const { masterKeys, repo, random, clock } = this.deps;
    const id = newId('dataKey', random);
    const bytes = randomBytesExactly(random, DATA_KEY_BYTES, 'data key');
    // Strictly after the key it replaces, so "newest" is never a tie, even under a stopped clock.
    const previousAt = newest === undefined ? Number.NaN : Date.parse(newest.createdAt);
    const at = Number.isFinite(previousAt) ? Math.max(clock.now(), previousAt + 1) : clock.now();
    let row: WrappedDataKey;
    let key: KeyObject;
    try {
      row = { id, orgId, masterKid: masterKeys.active.kid, wrapped: wrapDataKey(masterKeys.active, orgId, id, bytes, random), createdAt: iso(at) };
      key = createSecretKey(bytes);
    } finally {
      bytes.fill(0);
    }
    try {
      await repo.insertDataKey(row);
    } catch (cause) {
      const after = await this.reload(orgId);
      const winner = after.rows[0];
      if (winner !== undefined && winner.id !== newest?.id) return winner; // another process got there first
      throw new KeywayError('vault_error', `could not store a new data key for organization ${orgId}`, { cause });
    }
    this.unwrapped.set(id, { orgId, key });
    const known = this.orgs.get(orgId);
    this.orgs.set(orgId, { rows: newestFirst([row, ...(known?.rows ?? [])]), loadedAt: known?.loadedAt ?? clock.now() });
    return row;
  }

  private replaceRow(row: WrappedDataKey): void {
    const known = this.orgs.get(row.orgId);
    if (known === undefined) return;
    this.orgs.set(row.orgId, { ...known, rows: known.rows.map((r) => (r.id === row.id ? row : r)) });
  }

  /** Runs `fn` after every earlier serial() call for this organization has settled. */
  private serial<T>(orgId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(orgId) ?? Promise.resolve();
    const run = previous.then(fn);
    // The tail only orders work; each caller receives its own result or failure through `run`.
    const tail = run.then(() => undefined, () => undefined);
    this.tails.set(orgId, tail);
    void tail.then(() => {
      if (this.tails.get(orgId) === tail) this.tails.delete(orgId);
    });
    return run;
  }
}

function newestFirst(rows: readonly WrappedDataKey[]): WrappedDataKey[] {
  return [...rows].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

function notInOrg(id: string): KeywayError {
  return new KeywayError('vault_error',
    `data key ${id} does not belong to this organization or no longer exists (was the secret moved from another organization?)`);
}
