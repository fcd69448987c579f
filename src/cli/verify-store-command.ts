import { loadConfigFile } from '../config/load-config.js';
import { FORMATS } from '../formats/index.js';
import { openStore } from '../store/open-store.js';
import { isClean, verifyStore } from '../store/verify-store.js';

/** Returns the process exit code: 0 clean (or repaired), 1 problems found. */
export async function verifyStoreCommand(configFile: string, opts: { repair: boolean; json: boolean }): Promise<number> {
  const config = await loadConfigFile(configFile, FORMATS);
  const store = await openStore(config.dataDir, { keepTemps: true });
  try {
    const report = await verifyStore(store, { repair: opts.repair });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ clean: isClean(report), ...report }, null, 2)}\n`);
    } else {
      const lines = [
        `checked ${report.blobs} blobs (${report.bytesChecked} bytes) in ${config.dataDir}`,
        `corrupt: ${report.corrupt.length}`,
        `missing: ${report.missing.length}`,
        `partial: ${report.partial.length}`,
        `orphaned: ${report.orphaned.length}`,
        ...report.corrupt.map((s) => `  corrupt ${s}`),
        ...report.missing.map((s) => `  missing ${s}`),
        ...report.partial.map((s) => `  partial ${s}`),
        isClean(report) ? 'store is clean' : opts.repair ? 'store repaired' : 'store has problems: run with --repair to evict them',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return isClean(report) || opts.repair ? 0 : 1;
  } finally {
    await store.close();
  }
}
