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
  close(): Promise<void>;
}

/**
 * The embedded default: SQLite index + blobs on local disk under the data directory,
 * owned by this process (a lock file), with a dead process's partial downloads removed.
 */
export async function openStore(dataDir: string, opts: { memoryCacheBytes?: number; keepTemps?: boolean } = {}): Promise<Store> {
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
