/**
 * Starts the real mirror in-process on 127.0.0.1 port 0 with a real data directory.
 * Organisation keys are generated once per test run (RSA 4096 is slow) and copied into
 * each data directory, as an operator importing the same keys would.
 */
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig, type Config } from '../../src/config/load-config.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { FORMATS } from '../../src/formats/index.js';
import { openKeyStore } from '../../src/keys/key-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { buildApp, type App } from '../../src/server/app.js';

export interface RunningMirror {
  app: App;
  url: string;
  httpsUrl?: string;
  dataDir: string;
  config: Config;
  get(path: string, init?: RequestInit): Promise<Response>;
  /**
   * Moves the mirror's cache-freshness clock forward (metadataTtl expiry) without waiting:
   * tests advance it past a TTL rather than sleep, so a slow machine cannot expire an entry early.
   */
  advanceClock(ms: number): void;
  /** The mirror's cache-freshness clock: real time plus every advanceClock. */
  now(): number;
  close(): Promise<void>;
}

let sharedKeys: Promise<string> | undefined;

/** A key directory made once per process (or taken from COUNTERSIGN_TEST_KEYS_DIR). */
export function sharedKeyDir(): Promise<string> {
  sharedKeys ??= (async () => {
    const fromEnv = process.env.COUNTERSIGN_TEST_KEYS_DIR;
    if (fromEnv && (await stat(join(fromEnv, 'manifest.json')).catch(() => undefined))) return fromEnv;
    const dir = join(await mkdtemp(join(tmpdir(), 'countersign-keys-')), 'keys');
    await openKeyStore({ dir });
    return dir;
  })();
  return sharedKeys;
}

export async function makeDataDir(): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'countersign-data-'));
  await cp(await sharedKeyDir(), join(dataDir, 'keys'), { recursive: true });
  return dataDir;
}

export function configText(input: ConfigInput): string {
  return stringify(input);
}

/** A port that was free a moment ago on 127.0.0.1 (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Without an explicit `listen.port` or `publicUrl`, a free port is chosen first so that
 * `publicUrl` (and the URLs the mirror writes into documents) names the real port.
 */
export async function startMirror(input: Omit<ConfigInput, 'dataDir'> & { dataDir?: string }, opts: { logLevel?: string } = {}): Promise<RunningMirror> {
  const dataDir = input.dataDir ?? (await makeDataDir());
  const pickPort = input.publicUrl === undefined && input.listen?.port === undefined;
  for (let attempt = 1; ; attempt++) {
    const port = pickPort ? await freePort() : 0;
    const config = parseConfig(
      configText({
        ...input,
        ...(pickPort ? { publicUrl: `http://127.0.0.1:${port}` } : {}),
        listen: { host: '127.0.0.1', port, ...input.listen },
        dataDir,
        log: { level: 'silent' },
      }),
      { file: 'test.yaml', formats: FORMATS, env: {}, cwd: dataDir },
    );
    const log = createLogger(opts.logLevel ?? process.env.TEST_LOG_LEVEL ?? 'silent');
    const clock = new TestClock();
    const app = await buildApp(config, { formats: FORMATS, log, env: {}, now: clock.now });
    let listening: { url: string; httpsUrl?: string };
    try {
      listening = await app.listen();
    } catch (err) {
      await app.close().catch(() => {});
      // Someone took the port between freePort() and listen(): try another.
      if (pickPort && attempt < 5 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      throw err;
    }
    return running(app, listening, dataDir, config, clock);
  }
}

/** Real time plus an offset that only grows, so time still passes between requests as it does in production. */
class TestClock {
  #offsetMs = 0;
  readonly now = (): number => Date.now() + this.#offsetMs;
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advanceClock takes a non-negative number of ms, not ${ms}`);
    this.#offsetMs += ms;
  }
}

function running(app: App, { url, httpsUrl }: { url: string; httpsUrl?: string }, dataDir: string, config: Config, clock: TestClock): RunningMirror {
  return {
    app,
    url,
    ...(httpsUrl ? { httpsUrl } : {}),
    dataDir,
    config,
    get: (path, init) => fetch(`${url}${path}`, init),
    advanceClock: (ms) => clock.advance(ms),
    now: clock.now,
    close: () => app.close(),
  };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
