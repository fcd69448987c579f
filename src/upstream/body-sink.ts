/**
 * Moves a response body into a sink (a TempBlob or memory) while enforcing the size limit
 * and the announced Content-Length. The body is upstream-controlled: it may be endless,
 * lie about its length or stop half way, so every outcome is reported as a value and the
 * caller decides what is an error and what is worth a retry. Only a failing sink (the
 * store) throws, because that is never the upstream's fault.
 */
import type { Readable } from 'node:stream';

export interface ByteSink {
  write(chunk: Uint8Array): Promise<void> | void;
}

export type DrainResult =
  | { kind: 'complete'; bytes: number }
  | { kind: 'too-large'; bytes: number }
  /** The connection failed or timed out while the body was arriving. */
  | { kind: 'transport'; bytes: number; cause: unknown }
  /** The body ended cleanly but not at the announced Content-Length. */
  | { kind: 'length-mismatch'; bytes: number; expected: number };

export interface DrainLimits {
  maxBytes: number;
  /** Parsed Content-Length, when the upstream sent one. */
  contentLength?: number | undefined;
}

export async function drainBody(body: Readable, sink: ByteSink, limits: DrainLimits): Promise<DrainResult> {
  let bytes = 0;
  const chunks: AsyncIterator<unknown> = body[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<unknown>;
    try {
      next = await chunks.next();
    } catch (cause) {
      return { kind: 'transport', bytes, cause };
    }
    if (next.done) break;
    const chunk = toBytes(next.value);
    bytes += chunk.byteLength;
    if (bytes > limits.maxBytes) {
      abandonBody(body);
      return { kind: 'too-large', bytes };
    }
    try {
      await sink.write(chunk);
    } catch (err) {
      abandonBody(body);
      throw err;
    }
  }
  if (limits.contentLength !== undefined && bytes !== limits.contentLength) {
    return { kind: 'length-mismatch', bytes, expected: limits.contentLength };
  }
  return { kind: 'complete', bytes };
}

/**
 * Stops reading a body at once: destroying it aborts the request and drops the socket,
 * which is what we want for an oversized or unwanted body. undici then emits an abort
 * error nobody is waiting for, so it is swallowed here.
 */
export function abandonBody(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new TypeError('Response body yielded a non-byte chunk');
}

/** Collects a small body in memory. */
export class MemorySink implements ByteSink {
  readonly #chunks: Uint8Array[] = [];

  write(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
  }

  bytes(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}

/**
 * Writes to `inner` and keeps a copy of the chunks while they total at most `limit` bytes; past
 * that the copy is dropped, so memory stays bounded whatever the body's size.
 */
export class KeepSmallSink implements ByteSink {
  readonly #inner: ByteSink;
  readonly #limit: number;
  #chunks: Uint8Array[] | undefined = [];
  #size = 0;

  constructor(inner: ByteSink, limit: number) {
    this.#inner = inner;
    this.#limit = limit;
  }

  write(chunk: Uint8Array): Promise<void> | void {
    this.#size += chunk.byteLength;
    if (this.#size > this.#limit) this.#chunks = undefined;
    else this.#chunks?.push(chunk);
    return this.#inner.write(chunk);
  }

  /** The body, if it stayed within the limit. */
  bytes(): Buffer | undefined {
    return this.#chunks ? Buffer.concat(this.#chunks) : undefined;
  }
}

/** Parses Content-Length strictly; anything odd is treated as absent. */
export function parseContentLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}
