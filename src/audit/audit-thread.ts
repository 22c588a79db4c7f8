/**
 * The audit thread (started by `ThreadAuditSink`): opens its own connection to the process's
 * database and stores the batches it is sent, in order, answering each. It also answers the token
 * cache's periodic re-check (which connection stamps changed), a read that would otherwise run on the request
 * thread, reading again only when another connection has committed (`StampCache`). It never
 * migrates: the main thread has done that before starting it.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { cryptoRandom } from '../core/random.ts';
import { type StoreLocation, openStoreFor } from '../store/index.ts';
import { StoreAuditSink } from './sink.ts';
import { StampCache } from './stamp-cache.ts';
import type { PackedEntry } from './packed.ts';

export type ToAuditThread =
  | { type: 'write'; seq: number; entries: PackedEntry[] }
  /** The token cache's re-check: which of these connections no longer have these stamps (a read, answered as it comes). */
  | { type: 'changed'; seq: number; ids: string[]; stamps: string[] }
  | { type: 'close' };

export type FromAuditThread =
  | { type: 'written'; seq: number }
  | { type: 'failed'; seq: number; message: string }
  /** The ids asked about whose stamp changed or that no longer exist; usually none. */
  | { type: 'changed'; seq: number; ids: string[] };

/** The SQLite connection only appends: a small page cache and no memory map. */
const TUNING = { sqlite: { cacheKib: 8192, mmapBytes: 0 }, pgMaxConnections: 2 };

if (!isMainThread && parentPort) {
  const port = parentPort;
  const location = workerData as StoreLocation;
  const store = openStoreFor(location.databaseUrl, location.dataDir, TUNING);
  const sink = new StoreAuditSink(store, cryptoRandom);
  // This connection writes only audit entries: stamps it read hold until another connection commits.
  const stamps = new StampCache((ids) => store.connections.stamps(ids), () => store.dataVersion());
  port.on('message', (m: ToAuditThread) => {
    if (m.type === 'close') {
      void sink.close().then(() => store.close()).finally(() => port.close());
      return;
    }
    if (m.type === 'changed') {
      stamps.changed(m.ids, m.stamps).then(
        (ids) => port.postMessage({ type: 'changed', seq: m.seq, ids } satisfies FromAuditThread),
        (e: unknown) => port.postMessage({ type: 'failed', seq: m.seq, message: e instanceof Error ? e.message : String(e) } satisfies FromAuditThread),
      );
      return;
    }
    sink.write(m.entries).then(
      () => port.postMessage({ type: 'written', seq: m.seq } satisfies FromAuditThread),
      (e: unknown) => port.postMessage({ type: 'failed', seq: m.seq, message: e instanceof Error ? e.message : String(e) } satisfies FromAuditThread),
    );
  });
}
