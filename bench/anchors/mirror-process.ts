/**
 * The mirror as deployed: `node bin/countersign.js serve --config …` in its own process on CPU 0,
 * so its RSS is its own and it does not share an event loop with the fixtures. Keep-alive
 * connections are never closed by request count (`listen.maxRequestsPerSocket: 0`), the same
 * as the nginx anchor's `keepalive_requests` (see nginx.ts), so neither pays reconnects the other does not.
 */
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ConfigInput } from '../../src/config/schema.js';
import { configText, freePort, makeDataDir, removeDir } from '../../test/helpers/mirror-harness.js';
import { ALL_CORES } from '../settings.js';
import { childPids } from './process-memory.js';
import { spawnOnCpu0, stopChild, waitUntilUp, type Target } from './target.js';

export interface MirrorTarget extends Target {
  readonly dataDir: string;
}

type Repositories = ConfigInput['repositories'];

/** `files` are written into the data directory first (keyrings the config names); `anyCpu`: not pinned to CPU 0. */
/** `checkout`: another checkout's `bin/countersign.js` (an A/B run against an earlier build), named after it. */
export async function startMirrorProcess(repositories: Repositories, opts: { files?: Record<string, string | Buffer>; dataDir?: string; extra?: Partial<ConfigInput>; anyCpu?: boolean; checkout?: string } = {}): Promise<MirrorTarget> {
  const dataDir = opts.dataDir ?? (await makeDataDir());
  for (const [name, bytes] of Object.entries(opts.files ?? {})) await writeFile(join(dataDir, name), bytes);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configFile = join(dataDir, 'bench-config.yaml');
  await writeFile(configFile, configText({
    publicUrl: url,
    dataDir,
    log: { level: 'error' },
    ...opts.extra,
    listen: { workers: ALL_CORES ? 'auto' : 1, ...opts.extra?.listen, host: '127.0.0.1', port, maxRequestsPerSocket: 0 },
    repositories,
  }));
  const child = spawnOnCpu0(process.execPath, [join(opts.checkout ?? process.cwd(), 'bin', 'countersign.js'), 'serve', '--config', configFile], { anyCpu: opts.anyCpu ?? false });
  await waitUntilUp(`${url}/-/health`, child, 'countersign serve');
  return {
    name: opts.checkout ? `countersign@${basename(opts.checkout)}` : 'countersign',
    url,
    dataDir,
    // The primary and its workers (listen.workers), whose peaks are summed.
    get pids() {
      return [child.pid!, ...childPids(child.pid!)];
    },
    async stop() {
      await stopChild(child);
      if (!opts.dataDir) await removeDir(dataDir);
    },
  };
}
