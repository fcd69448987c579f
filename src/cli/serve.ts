import { loadConfigFile, type Config } from '../config/load-config.js';
import { FORMATS } from '../formats/index.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { buildApp, type App } from '../server/app.js';
import { followPrimary, primarySocketPath, workerCount, workerSetup, Workers } from '../server/cluster.js';

export async function serve(configFile: string): Promise<void> {
  const config = await loadConfigFile(configFile, FORMATS);
  const setup = workerSetup();
  if (setup) return serveWorker(config, setup);
  const log = createLogger(config.log.level);
  const count = workerCount(config.listen.workers);
  if (count <= 1) return serveAlone(config, log);
  return servePrimary(config, log, count);
}

async function serveAlone(config: Config, log: Logger): Promise<void> {
  const app = await buildApp(config, { formats: FORMATS, log });
  const { url, httpsUrl } = await app.listen();
  announce(app, log, url, httpsUrl);
  onSignals(log, () => app.close());
}

/** The primary: the whole mirror behind a private socket, and the workers on the public port (cluster.ts). */
async function servePrimary(config: Config, log: Logger, count: number): Promise<void> {
  const socket = await primarySocketPath();
  let workers: Workers | undefined;
  const app = await buildApp(config, {
    formats: FORMATS, log, role: { kind: 'primary', socketPath: socket.socketPath, workerMetrics: async () => (await workers?.metrics()) ?? [] },
  });
  const { httpsUrl } = await app.listen();
  const epochs = Object.fromEntries(app.repositories.map((r) => [r.name, r.trust.epoch]));
  workers = new Workers({ count, socketPath: socket.socketPath, epochs, log });
  const url = await workers.start();
  announce(app, log, url, httpsUrl, count);
  onSignals(log, async () => {
    await workers.stop();
    await app.close();
    await socket.remove();
  });
}

async function serveWorker(config: Config, setup: NonNullable<ReturnType<typeof workerSetup>>): Promise<void> {
  const log = createLogger(config.log.level).child({ worker: process.pid });
  const app = await buildApp(config, { formats: FORMATS, log, role: { kind: 'worker', ...setup } });
  await app.listen();
  let closing = false;
  followPrimary({
    metrics: () => app.metrics.registry.getMetricsAsJSON(),
    shutdown: (reason) => {
      if (closing) return;
      closing = true;
      log.debug({ reason }, 'worker shutting down');
      void closeAndExit(app, log);
    },
  });
  // The primary decides when to stop: a terminal's Ctrl-C reaches the whole group, and the primary's shutdown message follows.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
}

function announce(app: App, log: Logger, url: string, httpsUrl: string | undefined, workers = 1): void {
  const { config } = app;
  log.info({ url, ...(httpsUrl ? { httpsUrl } : {}), publicUrl: config.publicUrl, dataDir: config.dataDir, offline: config.offline, workers, repositories: app.repositories.map((r) => r.name) }, 'countersign listening');
  for (const key of app.keys.list().filter((k) => k.status === 'active')) log.info({ keyId: key.id, kind: key.kind, algorithm: key.algorithm }, 'signing key');
}

function onSignals(log: Logger, close: () => Promise<void>): void {
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down: finishing requests in flight');
    const force = setTimeout(() => {
      log.warn('requests still in flight after 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    close().then(
      () => {
        // The log is buffered: exit once its last lines are written.
        log.flush(() => process.exit(0));
      },
      (err: unknown) => {
        log.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function closeAndExit(app: App, log: Logger): Promise<void> {
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  try {
    await app.close();
  } finally {
    log.flush(() => process.exit(0));
  }
}
