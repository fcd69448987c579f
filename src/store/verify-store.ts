/**
 * Re-hashes every blob and cross-checks the index: corrupt blobs (bytes do not match their
 * name), orphaned blobs (nothing references them: a crash between commit and index write),
 * missing blobs (the index names bytes that are gone), and temp files left by a crash.
 * With `repair`, corrupt blobs are evicted with the entries that name them (the next
 * request fetches them again), orphans and temp files are removed.
 */
import type { Store } from './open-store.js';

export interface StoreReport {
  blobs: number;
  bytesChecked: number;
  corrupt: string[];
  orphaned: string[];
  missing: string[];
  partial: string[];
  repaired: boolean;
}

export async function verifyStore(store: Store, opts: { repair: boolean; onProgress?: (done: number) => void }): Promise<StoreReport> {
  const referenced = store.index.referencedBlobs();
  const report: StoreReport = { blobs: 0, bytesChecked: 0, corrupt: [], orphaned: [], missing: [], partial: [], repaired: opts.repair };
  const seen = new Set<string>();
  for await (const name of store.blobs.list()) {
    report.blobs++;
    seen.add(name);
    if (!/^[0-9a-f]{64}$/.test(name)) {
      report.corrupt.push(name);
      continue;
    }
    const actual = await store.blobs.rehash(name);
    report.bytesChecked += (await store.blobs.stat(name))?.size ?? 0;
    if (actual !== name) report.corrupt.push(name);
    else if (!referenced.has(name)) report.orphaned.push(name);
    opts.onProgress?.(report.blobs);
  }
  for (const sha of referenced) if (!seen.has(sha)) report.missing.push(sha);
  for await (const temp of store.blobs.listTemp()) report.partial.push(temp);

  if (opts.repair) {
    for (const sha of [...report.corrupt, ...report.missing]) {
      store.index.deleteObjectsByBlob(sha);
      if (/^[0-9a-f]{64}$/.test(sha)) await store.blobs.delete(sha);
    }
    for (const sha of report.orphaned) await store.blobs.delete(sha);
    for (const temp of report.partial) await store.blobs.removeTemp(temp);
  }
  return report;
}

/** Orphaned blobs are harmless (content-addressed, never served without an entry): not unclean. */
export function isClean(report: StoreReport): boolean {
  return report.corrupt.length + report.missing.length + report.partial.length === 0;
}
