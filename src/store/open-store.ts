import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { lockDataDir } from './data-dir-lock.js';
import { FsBlobStore } from './fs-blob-store.js';
import { createMemoryCache, type MemoryCache } from './memory-cache.js';
import { SqliteIndexStore } from './sqlite-index.js';
import type { BlobStore, IndexStore } from './types.js';

export interface Store {
  index: IndexStore;
  blobs: BlobStore;
  hot: MemoryCache;
  /** Temp files of a dead process removed when the store was opened. */
  removedTemps: number;
  /**
   * A worker's view of the primary's store (`listen.workers`): it reads, never writes. What would
   * need a write (a miss, a view not made yet) throws PRIMARY_NEEDED, and the worker forwards.
   */
  replica: boolean;
  close(): Promise<void>;
}

/**
 * The embedded default: SQLite index + blobs on local disk under the data directory,
 * owned by this process (a lock file), with a dead process's partial downloads removed.
 */
export async function openStore(dataDir: string, opts: { memoryCacheBytes?: number; keepTemps?: boolean; replica?: boolean } = {}): Promise<Store> {
  if (opts.replica) return openReplica(dataDir, opts.memoryCacheBytes);
  await mkdir(dataDir, { recursive: true, mode: 0o750 });
  const lock = await lockDataDir(dataDir);
  try {
    const blobs = await FsBlobStore.open(join(dataDir, 'blobs'));
    let removedTemps = 0;
    if (!opts.keepTemps) {
      for await (const name of blobs.listTemp()) {
        await blobs.removeTemp(name);
        removedTemps++;
      }
    }
    const index = new SqliteIndexStore(join(dataDir, 'index.sqlite'));
    const hot = createMemoryCache(opts.memoryCacheBytes ?? 256 * 1024 * 1024);
    return {
      index,
      blobs,
      hot,
      removedTemps,
      replica: false,
      close: async () => {
        index.close();
        await lock.release();
      },
    };
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** The store as a worker sees it: no lock (the primary holds it), no temp cleanup, a read-only index. */
async function openReplica(dataDir: string, memoryCacheBytes: number | undefined): Promise<Store> {
  const blobs = await FsBlobStore.open(join(dataDir, 'blobs'));
  const index = new SqliteIndexStore(join(dataDir, 'index.sqlite'), { readonly: true });
  const hot = createMemoryCache(memoryCacheBytes ?? 256 * 1024 * 1024);
  return { index, blobs, hot, removedTemps: 0, replica: true, close: async () => index.close() };
}
