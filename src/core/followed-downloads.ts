/**
 * Downloads that clients follow while they run: a cold blob is streamed to everyone asking
 * for it from the temp file it is being written to (TempBlob.readGrowing), instead of
 * making them wait for the whole body. The flight that owns the download still verifies it
 * and commits it to the store; followers see their stream end only once that has happened.
 */
import type { TempBlob } from '../store/types.js';

export interface FollowedDownload {
  temp: TempBlob;
  /** Only downloads of announced length are followed, so clients get a Content-Length. */
  contentLength: number;
  contentType: string | undefined;
}

export class FollowedDownloads {
  readonly #running = new Map<string, FollowedDownload>();
  readonly #waiting = new Map<string, Set<(d: FollowedDownload) => void>>();

  started(key: string, download: FollowedDownload): void {
    this.#running.set(key, download);
    const waiters = this.#waiting.get(key);
    this.#waiting.delete(key);
    for (const wake of waiters ?? []) wake(download);
  }

  ended(key: string): void {
    this.#running.delete(key);
  }

  /** The running download of `key`, as soon as one starts; undefined if `flight` settles first. */
  whenStarted(key: string, flight: Promise<unknown>): Promise<FollowedDownload | undefined> {
    const running = this.#running.get(key);
    if (running) return Promise.resolve(running);
    return new Promise((resolve) => {
      const waiters = this.#waiting.get(key) ?? new Set();
      this.#waiting.set(key, waiters);
      const wake = (d: FollowedDownload | undefined): void => {
        waiters.delete(wake);
        if (waiters.size === 0 && this.#waiting.get(key) === waiters) this.#waiting.delete(key);
        resolve(d);
      };
      waiters.add(wake);
      flight.then(() => wake(undefined), () => wake(undefined));
    });
  }
}
