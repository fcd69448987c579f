/**
 * A worker's way to the primary process (listen.workers): requests it cannot answer from the
 * store alone (misses, revalidations, the mirror's own endpoints, errors) are sent over the
 * primary's private socket and its answer is relayed as it comes, headers and body unchanged.
 */
import { Agent, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { MirrorError } from '../errors.js';

/** Headers that belong to one connection, not to the message (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

export class PrimaryForward {
  readonly #socketPath: string;
  // Kept-alive connections: a cold install sends hundreds of misses in a row.
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64 });

  constructor(socketPath: string) {
    this.#socketPath = socketPath;
  }

  /** Relays the primary's answer; the body bytes sent. Throws PRIMARY_NEEDED if the primary cannot be reached before any header was sent. */
  async send(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<number> {
    const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
      const out = request({
        socketPath: this.#socketPath, agent: this.#agent, method: req.method, path: req.url, headers: { ...withoutHopByHop(req.headers), 'x-request-id': requestId },
      }, resolve);
      out.once('error', (err) => reject(new MirrorError('PRIMARY_NEEDED', `The primary process did not answer: ${err.message}`, {}, { cause: err })));
      // A client that leaves stops the primary's work for it too.
      res.once('close', () => {
        if (!res.writableFinished) out.destroy();
      });
      out.end();
    });
    res.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, withoutHopByHop(upstream.headers));
    let bytes = 0;
    upstream.on('data', (chunk: Buffer) => (bytes += chunk.byteLength));
    await pipeline(upstream, res);
    return bytes;
  }

  close(): void {
    this.#agent.destroy();
  }
}

function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) kept[name] = value;
  return kept;
}
