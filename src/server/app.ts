/**
 * Builds the mirror without listening (tests drive it on port 0): store, keys, one
 * MirrorRepository per configured repository, and the HTTP handler.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/load-config.js';
import { DerivedSignatures } from '../core/derived-signatures.js';
import { DerivedViews } from '../core/derived-views.js';
import { SigningLedger } from '../core/signing-ledger.js';
import { MirrorRepository, type ServeRequest } from '../core/mirror-repository.js';
import { MirrorError } from '../errors.js';
import type { FormatAdapter, RenderedError } from '../formats/types.js';
import { openKeyStore } from '../keys/key-store.js';
import { persistentServerCertificate, type ServerTls } from '../keys/server-certificate-file.js';
import type { KeyStore } from '../keys/types.js';
import { accessLogger, type Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { openStore, type Store } from '../store/open-store.js';
import { applyLimits, serverOptions, type ActiveResponses } from './connection-limits.js';
import { sendError, toMirrorError } from './error-response.js';
import { DISTRIBUTION_FORMAT, distributionError, distributionPath, matchDistribution, sendDistributionBase, sendRendered } from './distribution-route.js';
import { MIRROR_ENDPOINTS } from './mirror-endpoints.js';
import { openRepositories, type SkippedRepository } from './open-repositories.js';
import { publicError, setSecurityHeaders, type Internals } from './response-security.js';
import { parseSafePath } from './safe-path.js';
import { PassThrough } from './pass-through.js';
import { PrimaryForward } from './primary-forward.js';
import { sendServed } from './send-served.js';

export interface App {
  config: Config;
  store: Store;
  keys: KeyStore;
  metrics: Metrics;
  log: Logger;
  repositories: MirrorRepository[];
  skipped: SkippedRepository[];
  handle(req: IncomingMessage, res: ServerResponse): void;
  /**
   * Starts the HTTP listener, and the HTTPS one beside it when `listen.https` is set. A primary
   * with workers answers them on its private socket instead of the public HTTP port (they hold
   * it); a worker listens on the public HTTP port only.
   */
  listen(): Promise<{ server: Server; url: string; httpsUrl?: string }>;
  /** The Prometheus text of this process (a primary with workers adds theirs: see cluster.ts). */
  metricsText(): Promise<string>;
  close(): Promise<void>;
}

export interface BuildAppOptions {
  formats: ReadonlyMap<string, FormatAdapter>;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /**
   * The clock cache freshness (metadataTtl) is judged by, default Date.now: tests advance it
   * instead of sleeping. Signature and token expiry keep to real time.
   */
  now?: () => number;
  /** One process (default), or the primary or a worker of `listen.workers` (cluster.ts). */
  role?: AppRole;
}

/** One process's metrics as prom-client's getMetricsAsJSON gives them (sent over IPC). */
export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

export type AppRole =
  | { kind: 'single' }
  | { kind: 'primary'; socketPath: string; workerMetrics(): Promise<WorkerMetrics[]> }
  | { kind: 'worker'; socketPath: string; epochs: Readonly<Record<string, string>>; workers: number };

export async function buildApp(config: Config, opts: BuildAppOptions): Promise<App> {
  const { log } = opts;
  const role = opts.role ?? { kind: 'single' };
  const worker = role.kind === 'worker' ? role : undefined;
  // Each worker keeps its share of limits.memoryCache (its hot set is the one its connections ask for).
  const memoryCacheBytes = worker ? Math.floor(config.limits.memoryCache / worker.workers) : config.limits.memoryCache;
  const store = await openStore(config.dataDir, { memoryCacheBytes, replica: worker !== undefined });
  // A worker never signs: it reads the public halves only (and is started without the passphrase).
  const passphrase = worker ? undefined : (opts.env ?? process.env).COUNTERSIGN_KEY_PASSPHRASE || undefined;
  const keys = await openKeyStore({
    dir: `${config.dataDir}/keys`,
    passphrase,
    options: config.keys,
    logger: log,
    publicOnly: worker !== undefined,
  });
  const metrics = createMetrics();
  const ledger = new SigningLedger(keys, store.index, metrics);
  const signatures = new DerivedSignatures(store, ledger);
  const views = new DerivedViews(store, ledger);
  const { repositories, skipped, closeUpstreams } = await openRepositories(config, {
    formats: opts.formats, env: opts.env ?? process.env, store, keys, signatures, views, metrics, log, now: opts.now ?? Date.now,
    ...(worker ? { epochs: worker.epochs } : {}),
  });
  const byName = new Map(repositories.map((r) => [r.name, r]));
  const servers: Server[] = [];
  const active: ActiveResponses = new WeakMap();
  // Directories no client may learn: error messages naming them are scrubbed before they are sent.
  const internals: Internals = { dirs: [config.dataDir, config.configDir, resolve(config.dataDir)] };
  const accessLog = accessLogger(log);
  const passThrough = new PassThrough();
  // Per process, as nginx's worker_connections: the kernel shares connections out unevenly, so a
  // share of the limit would refuse clients a single process takes.
  const limits = { ...config.listen };
  const forward = worker ? new PrimaryForward(worker.socketPath) : undefined;

  const app: App = {
    config, store, keys, metrics, log, repositories, skipped,
    handle(req, res) {
      active.set(req.socket, res);
      res.once('close', () => {
        if (active.get(req.socket) === res) active.delete(req.socket);
      });
      void route(app, byName, req, res, internals, accessLog, passThrough, forward);
    },
    async listen() {
      const https = config.listen.https ? await listenHttps(config.listen.https.port) : undefined;
      if (role.kind === 'primary') {
        // Workers hold the public HTTP port and apply the listen limits there; what they cannot
        // answer alone comes here, over a socket only this user can reach.
        const internal = createServer(serverOptions(limits), app.handle);
        internal.keepAliveTimeout = limits.keepAliveTimeout;
        await new Promise<void>((resolve, reject) => internal.once('error', reject).listen(role.socketPath, () => resolve()));
        servers.push(internal);
        return { server: internal, url: `unix:${role.socketPath}`, ...(https ? { httpsUrl: https } : {}) };
      }
      const server = createServer(serverOptions(limits), app.handle);
      applyLimits(server, limits, { metrics, log, active });
      const url = await listenOn(server, config.listen.port, config.listen.host, 'http');
      servers.push(server);
      return { server, url, ...(https ? { httpsUrl: https } : {}) };
    },
    async metricsText() {
      if (role.kind !== 'primary') return metrics.registry.metrics();
      const all = [await metrics.registry.getMetricsAsJSON(), ...(await role.workerMetrics())];
      return AggregatorRegistry.aggregate(all).metrics();
    },
    async close() {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeIdleConnections();
      })));
      passThrough.close();
      forward?.close();
      await closeUpstreams();
      await store.close();
    },
  };

  /** The HTTPS listener (`listen.https`, kept by the primary when there are workers), with the operator's certificate or one the org CA issued. */
  async function listenHttps(port: number): Promise<string | undefined> {
    if (worker) return undefined;
    const tls = await tlsMaterial(config, keys, passphrase);
    if (tls.issued) log.info({ fingerprint256: tls.issued.fingerprint256, outcome: tls.issued.outcome }, 'https certificate');
    const secure = createHttpsServer({ cert: tls.cert, key: tls.key, ...serverOptions(limits) }, app.handle);
    applyLimits(secure, limits, { metrics, log, active });
    const httpsUrl = await listenOn(secure, port, config.listen.host, 'https');
    servers.push(secure);
    log.info({ url: httpsUrl, issuedByOrgCa: !config.listen.https!.cert }, 'https listener');
    return httpsUrl;
  }
  return app;
}

async function listenOn(server: Server, port: number, host: string, scheme: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `${scheme}://${h}:${addr.port}`;
}

/**
 * The operator's certificate, or one issued by the org CA for the configured hosts and kept in the
 * key directory across restarts (re-issued when hosts, the CA or its validity call for it).
 */
async function tlsMaterial(config: Config, keys: KeyStore, passphrase: string | undefined): Promise<{ cert: string; key: string; issued?: ServerTls }> {
  const https = config.listen.https!;
  if (https.cert && https.key) {
    const [cert, key] = await Promise.all([readFile(resolve(config.configDir, https.cert), 'utf8'), readFile(resolve(config.configDir, https.key), 'utf8')]);
    return { cert, key };
  }
  const issued = await persistentServerCertificate({ keyDir: `${config.dataDir}/keys`, hosts: https.hosts, keys, ...(passphrase ? { passphrase } : {}) });
  return { cert: issued.cert, key: issued.key, issued };
}

async function route(
  app: App, byName: Map<string, MirrorRepository>, req: IncomingMessage, res: ServerResponse, internals: Internals, accessLog: Logger,
  passThrough: PassThrough, forward: PrimaryForward | undefined,
): Promise<void> {
  const started = performance.now();
  const reqId = (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) || nextRequestId();
  res.setHeader('x-request-id', reqId);
  setSecurityHeaders(res);
  const head = req.method === 'HEAD';
  let repoName = '-';
  let format = '-';
  let bytes = 0;
  // Whether the primary answered this request (a worker's), and whether it was asked.
  let forwarded = false;
  let triedForward = false;
  // Set while serving /v2/…: errors then take the distribution-spec shape (the repository's own renderer once known).
  let distribution: { repo?: MirrorRepository; path: string } | undefined;
  // Set once a repository whose format renders its own errors (Swift's problem details) is known.
  let ownErrors: { repo: MirrorRepository; path: string } | undefined;
  try {
    const url = req.url ?? '/';
    const v2 = matchDistribution(url);
    if (v2) distribution = { path: '' };
    if (req.method !== 'GET' && !head) throw new MirrorError('METHOD_NOT_ALLOWED', `${req.method} is not allowed: the mirror is read-only`);
    if (v2 && distribution) {
      if (v2.kind === 'base') {
        bytes = sendDistributionBase(res, head);
        return;
      }
      const repo = byName.get(v2.name);
      if (!repo || repo.config.format !== DISTRIBUTION_FORMAT) {
        throw new MirrorError('REPOSITORY_NOT_FOUND', `No ${DISTRIBUTION_FORMAT} repository is configured under "${v2.name}"`, { repository: v2.name });
      }
      repoName = repo.name;
      format = repo.config.format;
      const path = distributionPath(parseSafePath(v2.rest, repo.pathPolicy));
      distribution = { repo, path };
      const served = await repo.serve(path, serveRequest(req));
      if ('passThrough' in served) throw new MirrorError('INTERNAL', `${path} is passed through, which /v2/ never does`, { repository: repo.name, object: path });
      bytes = await sendServed(req, res, served, app.store.blobs, app.store.hot);
      return;
    }
    // The first segment picks the repository, whose format decides the rest of the path policy.
    const first = /^\/([a-z0-9._-]*)(?:[/?]|$)/.exec(url)?.[1];
    const repo = first === undefined ? undefined : byName.get(first);
    const [head0 = '', ...rest] = parseSafePath(url, repo?.pathPolicy).segments;
    if (head0 === '-' && forward) {
      // The mirror's own endpoints (health, metrics, keys, setup) speak for the whole mirror: the primary answers them.
      triedForward = true;
      await forwardOrFail(forward, req, res, reqId);
      forwarded = true;
      return;
    }
    if (head0 === '-') {
      const endpoint = MIRROR_ENDPOINTS[rest[0] ?? ''];
      if (!endpoint) throw new MirrorError('NOT_FOUND', `No mirror endpoint /-/${rest[0] ?? ''}`);
      await endpoint(app, req, res, rest.slice(1));
      return;
    }
    if (!repo) throw new MirrorError('REPOSITORY_NOT_FOUND', `No repository is configured under "${head0}"`, { repository: head0 });
    repoName = repo.name;
    format = repo.config.format;
    // A format that renders its own errors (Swift: problem details) renders them for its whole tree.
    // (OCI's renderer is for /v2/ only: its repositories' other paths keep the mirror's JSON errors.)
    if (repo.format.renderError && repo.config.format !== DISTRIBUTION_FORMAT) ownErrors = { repo, path: rest.join('/') };
    const request = serveRequest(req);
    const q = url.indexOf('?');
    if (q !== -1) request.query = url.slice(q + 1);
    const served = await repo.serve(rest.join('/'), request);
    bytes = 'passThrough' in served
      ? await passThrough.forward(req, res, served.passThrough, request.query ?? '', repo.name)
      : await sendServed(req, res, served, app.store.blobs, app.store.hot);
  } catch (err) {
    if (forward && !res.headersSent && !triedForward && !ANSWERED_BY_WORKERS.has((err as MirrorError).code)) {
      // Anything but a fresh stored answer (a miss, a revalidation, a view not made yet, an error
      // whose answer depends on state) is the primary's: it fetches, verifies, signs and stores.
      try {
        await forwardOrFail(forward, req, res, reqId);
        forwarded = true;
        return;
      } catch (failed) {
        err = failed;
      }
    }
    if (res.headersSent && (err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') {
      // The client left while its body was being sent: normal for pulls that get cancelled, not a mirror failure.
      app.log.info({ reqId, repo: repoName, url: req.url }, 'client closed the connection before the body was sent');
      res.destroy();
      return;
    }
    const logged = toMirrorError(err);
    if (logged.status >= 500) app.log.error({ reqId, repo: repoName, code: logged.code, err: logged.message, cause: describeCause(logged.cause) }, 'request failed');
    const e = publicError(logged, internals);
    const view = { code: e.code, status: e.status, message: e.message, details: e.details };
    const own = ownErrors?.repo.format.renderError?.(ownErrors.path, view);
    if (own) sendFormatError(res, own, head);
    else if (!distribution) sendError(res, e, head);
    else {
      const rendered = distribution.repo?.format.renderError?.(distribution.path, view) ?? distributionError(e);
      sendRendered(res, rendered, head);
    }
  } finally {
    // A forwarded request is counted and logged once, by the primary that answered it.
    if (!forwarded) {
      app.metrics.requests.inc({ repository: repoName, format, status: String(res.statusCode) });
      if (bytes > 0) app.metrics.bytesServed.inc({ repository: repoName }, bytes);
      accessLog.info({ reqId, repo: repoName, method: req.method, url: req.url, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'request');
    }
  }
}

/** Errors that do not depend on the store: a worker answers them itself. */
const ANSWERED_BY_WORKERS = new Set<string>(['BAD_PATH', 'METHOD_NOT_ALLOWED', 'REPOSITORY_NOT_FOUND']);

/** Relays the primary's answer; a relay cut after its headers is ended here (the client sees a short body). */
async function forwardOrFail(forward: PrimaryForward, req: IncomingMessage, res: ServerResponse, reqId: string): Promise<void> {
  try {
    await forward.send(req, res, reqId);
  } catch (err) {
    if (!res.headersSent) throw err;
    res.destroy();
  }
}

/** What of the client's request the core needs: content negotiation, and whether it can follow a download. */
function serveRequest(req: IncomingMessage): ServeRequest {
  const request: ServeRequest = { follow: req.method === 'GET' && req.headers.range === undefined };
  if (req.headers.accept) request.accept = req.headers.accept;
  return request;
}

function sendFormatError(res: ServerResponse, rendered: RenderedError, head: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(rendered.status, {
    ...rendered.headers, 'content-type': rendered.contentType, 'content-length': Buffer.byteLength(rendered.body), 'cache-control': 'no-store',
  });
  res.end(head ? undefined : rendered.body);
}

function describeCause(cause: unknown): string | undefined {
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : undefined;
}

/** Request ids: a random per-process prefix and a counter (a UUID per request costs more than it tells). */
const REQUEST_ID_PREFIX = randomBytes(6).toString('base64url');
let requestCounter = 0;
function nextRequestId(): string {
  return `${REQUEST_ID_PREFIX}-${(++requestCounter).toString(36)}`;
}
