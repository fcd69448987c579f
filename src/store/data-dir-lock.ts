/**
 * One process owns a data directory at a time: temp files left in it can then be known to
 * be a dead process's partial downloads, and removed at start.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MirrorError } from '../errors.js';

export interface DataDirLock {
  release(): Promise<void>;
}

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const file = join(dataDir, 'countersign.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o640);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          await rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new MirrorError('STORE_ERROR', `The data directory ${dataDir} is in use by process ${pid}`, { file });
      }
      // The owner died without releasing the lock: take it over.
      await rm(file, { force: true });
    }
  }
  throw new MirrorError('STORE_ERROR', `Cannot lock the data directory ${dataDir}`, { file });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
