/**
 * Reads a file while another part of the process is still writing it: the bytes of a
 * download as they land in its temp file, for clients that should not wait for the whole
 * body. Reading from the file (not from the network) keeps memory flat whatever the
 * client's pace, and lets any number of clients follow one download.
 *
 * The last byte is held back until the writer says the bytes are good (`release`): a client
 * must never receive a complete body whose digest then fails, so on `fail` the stream errors
 * before its end and the HTTP response is cut short.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

const CHUNK = 256 * 1024;
/** How long a partial chunk waits for the rest before it is sent anyway. */
const PARTIAL_WAIT_MS = 10;

/** What the writer tells its readers. */
export interface GrowthSource {
  /** Bytes safely written to the file so far. */
  readonly flushed: number;
  /** Total size once the bytes are accepted; undefined while they may still change or fail. */
  readonly released: number | undefined;
  /** Why the bytes were discarded, once they are. */
  readonly failure: Error | undefined;
  /** Where the bytes are now (a temp path, or the stored blob once committed). */
  location(): string;
  /** Calls `listener` on any change above; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

export function readGrowingFile(source: GrowthSource): Readable {
  let handle: FileHandle | undefined;
  let position = 0;
  let unsubscribe: (() => void) | undefined;
  let waiting: (() => void) | undefined;

  const available = (): number => source.released ?? Math.max(0, source.flushed - 1);

  let partialWaited = false;

  /** Resolves when there is something new to do (bytes, release or failure), or after `timeoutMs`. */
  const changed = (timeoutMs?: number): { next: Promise<'change' | 'timeout'>; cancel(): void } => {
    let timer: NodeJS.Timeout | undefined;
    const next = new Promise<'change' | 'timeout'>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve('change');
      };
      waiting = wake;
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          if (waiting === wake) waiting = undefined;
          resolve('timeout');
        }, timeoutMs);
      }
    });
    return { next, cancel: () => clearTimeout(timer) };
  };

  return new Readable({
    highWaterMark: CHUNK,
    async construct(callback) {
      try {
        // Opened at once: the writer may rename or remove the file later, the handle stays valid.
        handle = await openWhereItIs(source);
        unsubscribe = source.onChange(() => {
          const wake = waiting;
          waiting = undefined;
          wake?.();
        });
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    async read() {
      try {
        for (;;) {
          if (source.failure) throw source.failure;
          const limit = available();
          // A follower usually keeps up with the writer: reading each small write as it lands would
          // cost a thread-pool round trip per network chunk, so a partial chunk waits a moment for more.
          if (position < limit && (limit - position >= CHUNK || source.released !== undefined || partialWaited)) {
            partialWaited = false;
            const length = Math.min(CHUNK, limit - position);
            const buffer = Buffer.allocUnsafe(length);
            const { bytesRead } = await handle!.read(buffer, 0, length, position);
            if (bytesRead === 0) throw new Error(`${source.location()} is shorter than its writer reported`);
            position += bytesRead;
            this.push(buffer.subarray(0, bytesRead));
            return;
          }
          if (source.released !== undefined && position >= source.released) {
            this.push(null);
            return;
          }
          const partial = available() > position;
          const wait = changed(partial ? PARTIAL_WAIT_MS : undefined);
          // Re-check after subscribing to the wake-up so a change in between is not missed.
          if (source.failure || available() - position >= CHUNK || source.released !== undefined) {
            wait.cancel();
            continue;
          }
          partialWaited = (await wait.next) === 'timeout';
        }
      } catch (err) {
        this.destroy(err as Error);
      }
    },
    destroy(err, callback) {
      unsubscribe?.();
      const fh = handle;
      handle = undefined;
      if (!fh) return callback(err);
      fh.close().then(() => callback(err), () => callback(err));
    },
  });
}

/** The writer may move the file between asking where it is and opening it: ask again once. */
async function openWhereItIs(source: GrowthSource): Promise<FileHandle> {
  try {
    return await open(source.location(), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || source.failure) throw source.failure ?? err;
    return open(source.location(), 'r');
  }
}
