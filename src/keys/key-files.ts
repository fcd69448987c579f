/**
 * Key files on disk. Every write is temp file + fsync + rename + directory fsync, so a crash
 * leaves either the old file or the new one, never a torn key; callers write the manifest
 * last so a half-finished rotation is invisible (the new files are just orphans).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MirrorError } from '../errors.js';
import { fsyncDir } from '../store/fsync-dir.js';

export const DIR_MODE = 0o700;
export const PRIVATE_MODE = 0o600;
export const PUBLIC_MODE = 0o644;

export async function ensureKeyDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    // mkdir leaves an existing directory's mode alone; the key directory must be private.
    await chmod(dir, DIR_MODE);
  } catch (err) {
    throw new MirrorError('KEY_ERROR', `Cannot prepare the key directory ${dir}: ${(err as Error).message}`, { dir }, { cause: err });
  }
}

export async function writeFileAtomic(dir: string, name: string, data: string | Uint8Array, mode: number): Promise<void> {
  const target = join(dir, name);
  const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      // The umask may have narrowed the mode; public files must stay world-readable.
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
    await fsyncDir(dir);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new MirrorError('KEY_ERROR', `Cannot write the key file ${target}: ${(err as Error).message}`, { file: target }, { cause: err });
  }
}

export async function readKeyFile(dir: string, name: string): Promise<string> {
  const file = join(dir, name);
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file is missing' : (err as Error).message;
    throw new MirrorError('KEY_ERROR', `Cannot read the key file ${file}: ${reason}`, { file }, { cause: err });
  }
}
