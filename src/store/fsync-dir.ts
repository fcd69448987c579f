import { open } from 'node:fs/promises';

/** Makes a rename inside `dir` durable: the directory entry itself is flushed to disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
