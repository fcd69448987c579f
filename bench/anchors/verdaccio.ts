/**
 * The Verdaccio anchor: verdaccio@6.8.0 (the last release that runs on Node 20) from
 * .bench/verdaccio (scripts/bench-anchors.sh installs it there; it is not a dependency of the
 * project), its own process on CPU 0, one uplink to the fixture, storage in a temp dir.
 * `maxage: 1h` on the uplink, as the mirror's `metadataTtl: 1h` and nginx's 1h validity, so
 * warm hits never ask the fixture.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../test/helpers/mirror-harness.js';
import { childTarget, spawnOnCpu0, type Skipped, type Target } from './target.js';

export const VERDACCIO_BIN = join(process.cwd(), '.bench', 'verdaccio', 'node_modules', 'verdaccio', 'bin', 'verdaccio');

export async function startVerdaccio(upstreamUrl: string): Promise<Target | Skipped> {
  const name = 'verdaccio 6.8.0';
  if (!existsSync(VERDACCIO_BIN)) return { name, skipped: `${VERDACCIO_BIN} not found (run scripts/bench-anchors.sh)` };
  const dir = await mkdtemp(join(tmpdir(), 'countersign-bench-verdaccio-'));
  const port = await freePort();
  const config = {
    storage: join(dir, 'storage'),
    uplinks: { fixture: { url: `${upstreamUrl}/`, maxage: '1h', timeout: '60s', cache: true } },
    packages: { '@*/*': { access: '$all', proxy: 'fixture' }, '**': { access: '$all', proxy: 'fixture' } },
    server: { keepAliveTimeout: 65 },
    web: { enable: false },
    log: { type: 'stdout', format: 'pretty', level: 'error' },
    max_body_size: '100mb',
  };
  const configFile = join(dir, 'config.yaml');
  await writeFile(configFile, stringify(config));
  const child = spawnOnCpu0(process.execPath, [VERDACCIO_BIN, '--config', configFile, '--listen', `127.0.0.1:${port}`], { cwd: dir });
  return childTarget(name, `http://127.0.0.1:${port}`, '/-/ping', child, dir, 'verdaccio');
}
