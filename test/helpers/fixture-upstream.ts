/**
 * A real HTTP upstream on 127.0.0.1 for integration tests: any bytes at any path, with
 * switches for the failures a mirror must survive (status codes, resets, slow headers,
 * trickled bodies, truncation, redirects, tampered bytes) and a log of what it was asked.
 * Format fixtures build on it with setFile/setHandler.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export type FixtureMode =
  | 'normal'
  /** Destroy the socket without answering. */
  | 'reset'
  /** Announce the full Content-Length, send half the body, then drop the connection. */
  | 'truncate'
  /** Flip one byte of the body but keep headers and ETag. */
  | 'tamper'
  | { status: number; body?: string; headers?: Record<string, string> }
  /** Wait before sending headers. */
  | { slowMs: number }
  /** Send the body in small chunks with a pause before each. */
  | { trickleMs: number; chunkBytes?: number }
  /** Redirect (302 unless `status`) to an absolute or relative URL; `times` then normal. */
  | { redirect: string; times?: number; status?: 301 | 302 | 303 | 307 | 308 };

export interface FixtureFileOptions {
  contentType?: string;
  /** Default: quoted sha256 prefix of the bytes; false sends none. */
  etag?: string | false;
  /** Default: the time of setFile; false sends none. */
  lastModified?: string | Date | false;
}

export interface FixtureRequest {
  method: string;
  /** Path with query, as received. */
  path: string;
  headers: IncomingHttpHeaders;
}

export type FixtureHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface FixtureUpstream {
  readonly url: string;
  readonly port: number;
  setFile(path: string, bytes: Buffer | string, opts?: FixtureFileOptions): void;
  deleteFile(path: string): void;
  /** Serves `path` (exact pathname) with custom code, after modes apply. */
  setHandler(path: string, handler: FixtureHandler | undefined): void;
  /** `path` is an exact pathname or '*'; with `times`, the mode lasts that many requests. */
  setMode(path: string, mode: FixtureMode, opts?: { times?: number }): void;
  clearModes(): void;
  /** Requests for one pathname (query ignored), or all requests. */
  requests(path?: string): number;
  resetCounts(): void;
  readonly log: readonly FixtureRequest[];
  stop(): Promise<void>;
  restart(): Promise<void>;
}

interface StoredFile {
  bytes: Buffer;
  contentType: string;
  etag?: string;
  lastModified?: string;
}

export async function startFixtureUpstream(): Promise<FixtureUpstream> {
  const files = new Map<string, StoredFile>();
  const handlers = new Map<string, FixtureHandler>();
  const modes = new Map<string, FixtureMode>();
  const redirectsLeft = new Map<string, number>();
  const modeUsesLeft = new Map<string, number>();
  const counts = new Map<string, number>();
  const log: FixtureRequest[] = [];
  const sockets = new Set<Socket>();

  const modeFor = (path: string): { key: string; mode: FixtureMode } => {
    const key = modes.has(path) ? path : '*';
    const mode = modes.get(key) ?? 'normal';
    const left = modeUsesLeft.get(key);
    if (left !== undefined) {
      if (left <= 1) {
        modes.delete(key);
        modeUsesLeft.delete(key);
      } else modeUsesLeft.set(key, left - 1);
    }
    return { key, mode };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rawPath = req.url ?? '/';
    const path = norm(rawPath.split('?')[0] ?? '/');
    log.push({ method: req.method ?? 'GET', path: rawPath, headers: { ...req.headers } });
    counts.set(path, (counts.get(path) ?? 0) + 1);

    const { key, mode } = modeFor(path);
    if (mode === 'reset') {
      req.socket.destroy();
      return;
    }
    if (typeof mode === 'object' && 'redirect' in mode) {
      const left = redirectsLeft.get(key) ?? mode.times ?? Infinity;
      if (left > 0) {
        redirectsLeft.set(key, left - 1);
        res.writeHead(mode.status ?? 302, { location: mode.redirect, 'content-length': '0' });
        res.end();
        return;
      }
    } else if (typeof mode === 'object' && 'status' in mode) {
      res.writeHead(mode.status, { 'content-type': 'text/plain', ...mode.headers });
      res.end(mode.body ?? `fixture status ${mode.status}\n`);
      return;
    }
    if (typeof mode === 'object' && 'slowMs' in mode) {
      await pause(mode.slowMs, res);
      if (res.destroyed) return;
    }

    const handler = handlers.get(path);
    if (handler) {
      await handler(req, res);
      return;
    }
    const file = files.get(path);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    if (notModified(req.headers, file)) {
      res.writeHead(304, validatorHeaders(file));
      res.end();
      return;
    }
    let body = file.bytes;
    if (mode === 'tamper' && body.length > 0) {
      body = Buffer.from(body);
      body[body.length >> 1] = (body[body.length >> 1] ?? 0) ^ 0xff;
    }
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(body.length), ...validatorHeaders(file) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (mode === 'truncate') {
      // Flush half, then drop the connection: the client sees fewer bytes than announced.
      res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
      return;
    }
    if (typeof mode === 'object' && 'trickleMs' in mode) {
      const step = Math.max(1, mode.chunkBytes ?? 16);
      // Headers go out now, so only the body is slow.
      res.flushHeaders();
      for (let i = 0; i < body.length; i += step) {
        await pause(mode.trickleMs, res);
        if (res.destroyed) return;
        res.write(body.subarray(i, i + step));
      }
      res.end();
      return;
    }
    res.end(body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`fixture error: ${String(err)}\n`);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  let port = 0;
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  const stop = async (): Promise<void> => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  await listen();

  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    setFile(path, bytes, opts = {}) {
      const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
      const file: StoredFile = { bytes: buf, contentType: opts.contentType ?? 'application/octet-stream' };
      if (opts.etag !== false) file.etag = opts.etag ?? `"${createHash('sha256').update(buf).digest('hex').slice(0, 16)}"`;
      if (opts.lastModified !== false) {
        const lm = opts.lastModified ?? new Date();
        file.lastModified = typeof lm === 'string' ? lm : lm.toUTCString();
      }
      files.set(norm(path), file);
    },
    deleteFile(path) {
      files.delete(norm(path));
    },
    setHandler(path, handler) {
      if (handler) handlers.set(norm(path), handler);
      else handlers.delete(norm(path));
    },
    setMode(path, mode, opts = {}) {
      const key = path === '*' ? '*' : norm(path);
      redirectsLeft.delete(key);
      modeUsesLeft.delete(key);
      if (opts.times !== undefined) modeUsesLeft.set(key, opts.times);
      if (mode === 'normal') modes.delete(key);
      else modes.set(key, mode);
    },
    clearModes() {
      modes.clear();
      redirectsLeft.clear();
      modeUsesLeft.clear();
    },
    requests(path) {
      if (path === undefined) return log.length;
      return counts.get(norm(path)) ?? 0;
    },
    resetCounts() {
      counts.clear();
      log.length = 0;
    },
    log,
    stop,
    async restart() {
      await stop();
      await listen();
    },
  };
}

/** Sleeps, but wakes early when the client goes away (so a stopped test does not linger). */
async function pause(ms: number, res: ServerResponse): Promise<void> {
  if (res.destroyed) return;
  const gone = new AbortController();
  const onClose = (): void => gone.abort();
  res.once('close', onClose);
  try {
    await sleep(ms, undefined, { signal: gone.signal });
  } catch {
    // Aborted because the connection closed.
  } finally {
    res.off('close', onClose);
  }
}

function norm(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}

function validatorHeaders(file: StoredFile): Record<string, string> {
  const headers: Record<string, string> = {};
  if (file.etag) headers['etag'] = file.etag;
  if (file.lastModified) headers['last-modified'] = file.lastModified;
  return headers;
}

/** RFC 9110 §13.1: If-None-Match wins over If-Modified-Since. */
function notModified(headers: IncomingHttpHeaders, file: StoredFile): boolean {
  const inm = headers['if-none-match'];
  if (inm !== undefined) {
    if (!file.etag) return false;
    const want = file.etag.replace(/^W\//, '');
    return inm.split(',').some((tag) => {
      const t = tag.trim();
      return t === '*' || t.replace(/^W\//, '') === want;
    });
  }
  const ims = headers['if-modified-since'];
  if (ims !== undefined && file.lastModified) {
    const since = Date.parse(ims);
    const modified = Date.parse(file.lastModified);
    return Number.isFinite(since) && Number.isFinite(modified) && Math.floor(modified / 1000) <= Math.floor(since / 1000);
  }
  return false;
}
