/**
 * Signing inputs arrive either as bytes already in memory or as an async iterable (a node
 * Readable, a blob-store stream). openpgp.js streams only web ReadableStreams, so the
 * iterable is adapted lazily: nothing is buffered beyond what the consumer pulls.
 */

export type SigningInput = Uint8Array | AsyncIterable<Uint8Array>;

export function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** A pull-based web stream over an async iterable; cancelling it ends the iterator. */
export function toWebStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) {
          controller.close();
          return;
        }
        const chunk = next.value;
        // Node Buffers share a pooled ArrayBuffer; a plain view keeps openpgp's
        // byte handling independent of Buffer's subclass behaviour.
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (err) {
        controller.error(err);
      }
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}

/** Reads openpgp's streamed armored output to the end. */
export async function readTextStream(stream: ReadableStream<string>): Promise<string> {
  let text = '';
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += r.value;
  return text;
}

/** Reads openpgp's streamed binary output to the end. */
export async function readByteStream(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
  return Buffer.concat(parts);
}
