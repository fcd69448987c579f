/**
 * A worker per core (`listen.workers`): node's cluster shares the public HTTP port among worker
 * processes that serve what the store already holds under today's trust; the primary process
 * alone fetches, verifies, signs and writes the store, and answers the workers over a private
 * socket for everything else (store.replica, primary-forward.ts). One writer keeps the store's
 * guarantees (one flight per object, the signing ledger, crash consistency) as they are with
 * one process; workers add cores only to warm hits, which are most of a mirror's traffic. Workers
 * hold no private key (they read the public halves only) and are not given the key passphrase.
 */
import cluster, { type Worker } from 'node:cluster';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/load-config.js';
import type { Logger } from '../observability/logger.js';
import type { WorkerMetrics } from './app.js';

const ENV_SOCKET = 'COUNTERSIGN_WORKER_PRIMARY_SOCKET';
const ENV_EPOCHS = 'COUNTERSIGN_WORKER_TRUST_EPOCHS';
const ENV_WORKERS = 'COUNTERSIGN_WORKER_COUNT';
/** A worker that does not answer a metrics request in this time is left out of the sum. */
const METRICS_TIMEOUT_MS = 2000;
/** A worker that dies sooner than this after its start is restarted after a growing pause. */
const QUICK_DEATH_MS = 10_000;

type ToWorker = { type: 'metrics'; id: number } | { type: 'shutdown' };
type FromWorker = { type: 'metrics'; id: number; metrics: WorkerMetrics };

/**
 * `auto`: one worker per core, at most this many. A worker is a whole node process (~200 MB), and
 * a few of them already serve more warm hits than one network link carries; more is for an operator
 * to ask for by number.
 */
const AUTO_WORKERS_MAX = 8;

export function workerCount(setting: Config['listen']['workers']): number {
  return setting === 'auto' ? Math.min(availableParallelism(), AUTO_WORKERS_MAX) : setting;
}

/** What a worker was started with, or undefined in the primary or a single process. */
export function workerSetup(env: NodeJS.ProcessEnv = process.env): { socketPath: string; epochs: Record<string, string>; workers: number } | undefined {
  if (!cluster.isWorker) return undefined;
  const socketPath = env[ENV_SOCKET];
  const epochs = env[ENV_EPOCHS];
  if (!socketPath || !epochs) throw new Error('a countersign worker was started without its primary');
  return { socketPath, epochs: JSON.parse(epochs) as Record<string, string>, workers: Number(env[ENV_WORKERS] ?? '1') };
}

/** A private directory for the primary's socket: only this user may connect to it. */
export async function primarySocketPath(): Promise<{ socketPath: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-'));
  return { socketPath: join(dir, 'primary.sock'), remove: () => rm(dir, { recursive: true, force: true }) };
}

export class Workers {
  readonly #env: Record<string, string>;
  readonly #count: number;
  readonly #log: Logger;
  readonly #started = new Map<Worker, number>();
  #quickDeaths = 0;
  #stopping = false;
  #nextRequest = 0;

  constructor(opts: { count: number; socketPath: string; epochs: Record<string, string>; log: Logger }) {
    // Workers accept connections themselves (the kernel shares them out), not through the primary:
    // a primary busy verifying a big index must not hold up the connections of warm hits.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    this.#count = opts.count;
    this.#log = opts.log;
    // Workers read public keys only (openKeyStore publicOnly): the passphrase of the private ones is not theirs.
    this.#env = {
      [ENV_SOCKET]: opts.socketPath, [ENV_EPOCHS]: JSON.stringify(opts.epochs), [ENV_WORKERS]: String(opts.count), COUNTERSIGN_KEY_PASSPHRASE: '',
    };
    cluster.on('exit', (worker, code, signal) => this.#exited(worker, code, signal));
  }

  /** Starts every worker and resolves with the public URL once all of them listen. */
  async start(): Promise<string> {
    const listening = Array.from({ length: this.#count }, () => this.#fork());
    const addresses = await Promise.all(listening);
    return addresses[0]!;
  }

  #fork(): Promise<string> {
    const worker = cluster.fork(this.#env);
    this.#started.set(worker, Date.now());
    return new Promise((resolve, reject) => {
      worker.once('listening', (address) => {
        const host = address.addressType === 6 ? `[${address.address}]` : address.address;
        resolve(`http://${host}:${address.port}`);
      });
      worker.once('exit', (code) => reject(new Error(`worker ${worker.id} exited with ${code} before it listened`)));
    });
  }

  #exited(worker: Worker, code: number | null, signal: string | null): void {
    const startedAt = this.#started.get(worker) ?? 0;
    this.#started.delete(worker);
    if (this.#stopping) return;
    this.#quickDeaths = Date.now() - startedAt < QUICK_DEATH_MS ? this.#quickDeaths + 1 : 0;
    const pause = Math.min(30_000, 500 * 2 ** Math.min(this.#quickDeaths, 6));
    this.#log.error({ worker: worker.id, code, signal, restartInMs: pause }, 'worker exited; starting another');
    setTimeout(() => {
      if (!this.#stopping) this.#fork().catch((err: Error) => this.#log.error({ err: err.message }, 'worker did not start'));
    }, pause).unref();
  }

  /** Every live worker's metrics (prom-client JSON), for the primary's /-/metrics. */
  async metrics(): Promise<WorkerMetrics[]> {
    const asked = [...this.#started.keys()].filter((w) => w.isConnected());
    const answers = await Promise.all(asked.map((w) => this.#ask(w)));
    return answers.filter((m): m is WorkerMetrics => m !== undefined);
  }

  #ask(worker: Worker): Promise<WorkerMetrics | undefined> {
    const id = ++this.#nextRequest;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), METRICS_TIMEOUT_MS);
      const onMessage = (m: FromWorker): void => {
        if (m?.type === 'metrics' && m.id === id) done(m.metrics);
      };
      const done = (m: WorkerMetrics | undefined): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        resolve(m);
      };
      worker.on('message', onMessage);
      worker.send({ type: 'metrics', id } satisfies ToWorker);
    });
  }

  /** Asks every worker to finish its requests in flight and waits for them to exit. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const exits = [...this.#started.keys()].map((w) => new Promise<void>((resolve) => {
      if (w.isDead()) return resolve();
      w.once('exit', () => resolve());
      if (w.isConnected()) w.send({ type: 'shutdown' } satisfies ToWorker);
      else w.kill();
    }));
    await Promise.all(exits);
  }
}

/** In a worker: answers the primary's metrics requests, and shuts down when told (or when the primary is gone). */
export function followPrimary(opts: { metrics(): Promise<WorkerMetrics>; shutdown(reason: string): void }): void {
  process.on('message', (m: ToWorker) => {
    if (m?.type === 'metrics') {
      void opts.metrics().then((metrics) => process.send?.({ type: 'metrics', id: m.id, metrics } satisfies FromWorker));
    } else if (m?.type === 'shutdown') {
      opts.shutdown('primary');
    }
  });
  process.on('disconnect', () => opts.shutdown('primary gone'));
}
