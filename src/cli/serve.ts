import { loadConfigFile } from '../config/load-config.js';
import { FORMATS } from '../formats/index.js';
import { createLogger } from '../observability/logger.js';
import { buildApp } from '../server/app.js';

export async function serve(configFile: string): Promise<void> {
  const config = await loadConfigFile(configFile, FORMATS);
  const log = createLogger(config.log.level);
  const app = await buildApp(config, { formats: FORMATS, log });
  const { url, httpsUrl } = await app.listen();
  log.info({ url, ...(httpsUrl ? { httpsUrl } : {}), publicUrl: config.publicUrl, dataDir: config.dataDir, offline: config.offline, repositories: app.repositories.map((r) => r.name) }, 'countersign listening');
  for (const key of app.keys.list().filter((k) => k.status === 'active')) log.info({ keyId: key.id, kind: key.kind, algorithm: key.algorithm }, 'signing key');

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
    app.close().then(
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
