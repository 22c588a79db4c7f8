/**
 * The audit thread (started by `ThreadAuditSink`): opens its own connection to the process's
 * database and stores the batches it is sent, in order, answering each. It groups the repeated
 * events the request thread sends in chunks (`RepeatChunks`) and stores each group when it closes,
 * telling which chunks are then stored. It also answers the token cache's periodic re-check (which
 * connection stamps changed), a read that would otherwise run on the request thread, reading again
 * only when another connection has committed (`StampCache`). It never migrates: the main thread has
 * done that before starting it.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { cryptoRandom } from '../core/random.ts';
import { type StoreLocation, openStoreFor } from '../store/index.ts';
import { StoreAuditSink } from './sink.ts';
import { StampCache } from './stamp-cache.ts';
import { ChunkGroups } from './chunk-groups.ts';
import type { PackedEntry } from './packed.ts';
import type { RepeatChunk } from './repeat-chunks.ts';

export interface AuditThreadData {
  location: StoreLocation;
  /** The window repeated events are grouped in (`AuditWriter`'s `groupMs`); 0: none are sent. */
  groupMs: number;
}

export type ToAuditThread =
  | { type: 'write'; seq: number; entries: PackedEntry[] }
  /** Repeated events to group (`RepeatChunks`); `seq` numbers chunks, apart from the other messages'. */
  | ({ type: 'repeats' } & RepeatChunk)
  /** Shutting down: batches the database refuses are tried a few seconds more, then given up (`StoreAuditSink.closing`). */
  | { type: 'closing' }
  /** Close every group and store it (a reader wants to see every event); answered as `written`. */
  | { type: 'flush-groups'; seq: number }
  /** The token cache's re-check: which of these connections no longer have these stamps (a read, answered as it comes). */
  | { type: 'changed'; seq: number; ids: string[]; stamps: string[] }
  | { type: 'close' };

export type FromAuditThread =
  | { type: 'written'; seq: number }
  | { type: 'failed'; seq: number; message: string }
  /** The ids asked about whose stamp changed or that no longer exist; usually none. */
  | { type: 'changed'; seq: number; ids: string[] }
  /** Every event of the repeat chunks up to `seq` is stored. */
  | { type: 'durable'; seq: number }
  /** Closed groups the database refused (they are not stored). */
  | { type: 'groups-failed'; message: string }
  /** The database cannot take entries now: they are held and tried again (`StoreAuditSinkOptions.onHeld`). */
  | { type: 'held'; message: string };

/** The SQLite connection only appends: a small page cache and no memory map. */
const TUNING = { sqlite: { cacheKib: 8192, mmapBytes: 0 }, pgMaxConnections: 2 };

/** How often due groups are closed and stored while any is open. */
const TICK_MS = 50;

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

if (!isMainThread && parentPort) {
  const port = parentPort;
  const { location, groupMs } = workerData as AuditThreadData;
  const store = openStoreFor(location.databaseUrl, location.dataDir, TUNING);
  const sink = new StoreAuditSink(store, cryptoRandom, {
    onHeld: (e) => port.postMessage({ type: 'held', message: e.message } satisfies FromAuditThread),
  });
  // This connection writes only audit entries: stamps it read hold until another connection commits.
  const stamps = new StampCache((ids) => store.connections.stamps(ids), () => store.dataVersion());
  const groups = new ChunkGroups(groupMs); // with 0, no repeats are ever sent
  let reported = 0;
  let timer: NodeJS.Timeout | null = null;

  /** Stores `closed` after every earlier batch, then tells which chunks are stored. */
  const storeGroups = (closed: PackedEntry[]): Promise<void> => {
    const through = groups.closedThrough();
    return sink.write(closed).then(
      () => undefined,
      (e: unknown) => port.postMessage({ type: 'groups-failed', message: messageOf(e) } satisfies FromAuditThread),
    ).then(() => {
      if (through <= reported) return;
      reported = through;
      port.postMessage({ type: 'durable', seq: through } satisfies FromAuditThread);
    });
  };
  const closeAll = (): Promise<void> => {
    const closed: PackedEntry[] = [];
    groups.closeDue(Infinity, closed);
    return storeGroups(closed);
  };
  const tick = (): void => {
    timer = null;
    const closed: PackedEntry[] = [];
    groups.closeDue(performance.now(), closed);
    if (closed.length > 0) void storeGroups(closed);
    if (groups.size > 0) timer = setTimeout(tick, TICK_MS);
  };

  port.on('message', (m: ToAuditThread) => {
    switch (m.type) {
      case 'closing':
        sink.closing();
        return;
      case 'close':
        if (timer !== null) clearTimeout(timer);
        void closeAll().then(() => sink.close()).then(() => store.close()).finally(() => port.close());
        return;
      case 'changed':
        stamps.changed(m.ids, m.stamps).then(
          (ids) => port.postMessage({ type: 'changed', seq: m.seq, ids } satisfies FromAuditThread),
          (e: unknown) => port.postMessage({ type: 'failed', seq: m.seq, message: messageOf(e) } satisfies FromAuditThread),
        );
        return;
      case 'repeats': {
        const full: PackedEntry[] = [];
        groups.take(m, performance.now(), full);
        if (full.length > 0) void storeGroups(full);
        if (timer === null && groups.size > 0) timer = setTimeout(tick, TICK_MS);
        return;
      }
      case 'flush-groups':
        void closeAll().then(() => port.postMessage({ type: 'written', seq: m.seq } satisfies FromAuditThread));
        return;
      case 'write':
        sink.write(m.entries).then(
          () => port.postMessage({ type: 'written', seq: m.seq } satisfies FromAuditThread),
          (e: unknown) => port.postMessage({ type: 'failed', seq: m.seq, message: messageOf(e) } satisfies FromAuditThread),
        );
    }
  });
}
