/**
 * Sends a served object: strong ETag from the content digest, If-None-Match → 304,
 * single byte ranges on stored blobs, HEAD without a body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Served } from '../core/served.js';
import type { VerificationRecord } from '../formats/types.js';
import type { MemoryCache } from '../store/memory-cache.js';
import type { BlobStore } from '../store/types.js';
import { SingleFlight } from '../upstream/single-flight.js';
import { inertContentType } from './response-security.js';

/**
 * Blobs up to this size are served from memory once read: a file open and read per request costs
 * more than the bytes (OCI layers of a few MiB are pulled by every build). The memory cache's own
 * bounds (limits.memoryCache, a quarter of it per entry) decide what stays.
 */
const HOT_BLOB_MAX = 4 * 1024 * 1024;
/** One read per blob however many requests want it at once (1,000 cold clients must not read 1,000 copies). */
const hotReads = new WeakMap<MemoryCache, SingleFlight<string, Buffer>>();

export async function sendServed(req: IncomingMessage, res: ServerResponse, served: Served, blobs: BlobStore, hot: MemoryCache): Promise<number> {
  const etag = `"sha256:${served.sha256}"`;
  const headers: Record<string, string | number> = {
    'content-type': served.contentType,
    etag,
    'accept-ranges': 'bytes',
    'x-cache': CACHE_HEADER[served.cache],
    'x-content-sha256': served.sha256,
  };
  if (served.lastModified) headers['last-modified'] = served.lastModified;
  if (served.headers) Object.assign(headers, served.headers);
  // Last, so no format's header (or an upstream's passed through) can make the origin render a document.
  headers['content-type'] = inertContentTypeOf(String(headers['content-type']));
  if (served.stale) {
    headers['x-countersign-stale'] = served.stale;
    headers.warning = '110 - "Response is Stale"';
  }
  // Says which anchor vouched: `pinned` (the operator's trust files), `first-use`, or `none`.
  if (served.verification) headers['x-countersign-verification'] = verificationHeader(served.verification);

  if (matchesEtag(req.headers['if-none-match'], etag)) {
    served.body?.destroy();
    res.writeHead(304, { etag, 'x-cache': headers['x-cache']! });
    res.end();
    return 0;
  }

  const range = parseRange(req.headers.range, served.size, headerValue(req.headers['if-range']), etag);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'content-range': `bytes */${served.size}` });
    res.end();
    return 0;
  }
  const head = req.method === 'HEAD';
  let bytes = served.bytes;
  if (!bytes && !served.body && !head && served.size <= HOT_BLOB_MAX) bytes = hot.get(served.sha256) ?? (await readHot(served.sha256, blobs, hot));
  if (range) {
    const length = range.end - range.start + 1;
    headers['content-length'] = length;
    headers['content-range'] = `bytes ${range.start}-${range.end}/${served.size}`;
    res.writeHead(206, headers);
    if (head) return res.end(), 0;
    if (bytes) return res.end(bytes.subarray(range.start, range.end + 1)), length;
    await pipeline(blobs.open(served.sha256, range), res);
    return length;
  }
  if (served.body) {
    // Headers wait for the first bytes: a download refused before any arrived is still answered with its error.
    const first = await firstBytes(served.body);
    headers['content-length'] = served.size;
    res.writeHead(200, headers);
    if (first) res.write(first);
    await pipeline(served.body, res);
    return served.size;
  }
  headers['content-length'] = served.size;
  res.writeHead(200, headers);
  if (head) return res.end(), 0;
  if (bytes) return res.end(bytes), served.size;
  await pipeline(blobs.open(served.sha256), res);
  return served.size;
}

function readHot(sha256: string, blobs: BlobStore, hot: MemoryCache): Promise<Buffer> {
  let flights = hotReads.get(hot);
  if (!flights) hotReads.set(hot, (flights = new SingleFlight()));
  return flights.run(sha256, async () => {
    const bytes = await blobs.readAll(sha256);
    hot.set(sha256, bytes);
    return bytes;
  });
}

/** Content types are few (a handful per format): each is judged once. */
const inertTypes = new Map<string, string>();
function inertContentTypeOf(contentType: string): string {
  let inert = inertTypes.get(contentType);
  if (inert === undefined) {
    inert = inertContentType(contentType);
    // Upstream-chosen types are unbounded in principle: the memo stays small.
    if (inertTypes.size < 256) inertTypes.set(contentType, inert);
  }
  return inert;
}

const CACHE_HEADER: Record<Served['cache'], string> = {
  hit: 'HIT', miss: 'MISS', revalidated: 'REVALIDATED', stale: 'STALE', offline: 'OFFLINE',
};

/** Verification records are frozen rows shared by every hit on an object: their header is made once. */
const verificationHeaders = new WeakMap<VerificationRecord, string>();
function verificationHeader(v: VerificationRecord): string {
  let header = verificationHeaders.get(v);
  if (header === undefined) {
    header = v.status === 'verified' ? `verified; by=${v.by.join(',')}; anchor=${v.anchor ?? 'pinned'}` : `unverified; mode=${v.mode}`;
    verificationHeaders.set(v, header);
  }
  return header;
}

/** The first chunk of a stream (null if it ends empty), leaving the rest to be piped; rejects if it fails first. */
async function firstBytes(body: Readable): Promise<Buffer | null> {
  for (;;) {
    const chunk = body.read() as Buffer | null;
    if (chunk !== null) return chunk;
    if (body.readableEnded) return null;
    await new Promise<void>((resolve, reject) => {
      const settle = (err?: Error): void => {
        body.off('readable', onReady).off('end', onReady).off('error', settle);
        if (err) reject(err);
        else resolve();
      };
      const onReady = (): void => settle();
      body.once('readable', onReady).once('end', onReady).once('error', settle);
    });
  }
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/** One range only (multipart ranges are answered with the whole body, which RFC 9110 allows). */
export function parseRange(
  header: string | undefined,
  size: number,
  ifRange: string | undefined,
  etag: string,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header || (ifRange !== undefined && ifRange !== etag)) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
