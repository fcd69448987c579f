/**
 * The OCI anchor: Debian's docker-registry (the CNCF distribution registry) as the bench's own
 * process on CPU 0, filesystem storage in a temp dir, no access log (the mirror's is buffered;
 * the registry's would be a synchronous line per request). Blobs are pushed with the
 * distribution API's monolithic upload (POST, then PUT with the digest).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/mirror-harness.js';
import { childTarget, spawnOnCpu0, type Skipped, type Target } from './target.js';

const BIN = process.env.DOCKER_REGISTRY_BIN ?? '/usr/bin/docker-registry';

export async function startDockerRegistry(): Promise<Target | Skipped> {
  const name = 'docker-registry';
  if (!existsSync(BIN)) return { name, skipped: `${BIN} not found (apt-get install docker-registry)` };
  const dir = await mkdtemp(join(tmpdir(), 'countersign-bench-registry-'));
  const port = await freePort();
  await writeFile(join(dir, 'config.yml'), [
    'version: 0.1',
    'log: {level: error, accesslog: {disabled: true}}',
    `storage: {filesystem: {rootdirectory: ${join(dir, 'storage')}}}`,
    `http: {addr: "127.0.0.1:${port}"}`,
    '',
  ].join('\n'));
  // GOMAXPROCS=1: one CPU is all it gets, and the Go runtime should know it.
  const child = spawnOnCpu0(BIN, ['serve', join(dir, 'config.yml')], { env: { ...process.env, GOMAXPROCS: '1' } });
  return childTarget(name, `http://127.0.0.1:${port}`, '/v2/', child, dir, 'docker-registry');
}

/** Monolithic blob upload (distribution spec: POST, then PUT ?digest=). */
export async function pushBlob(base: string, repository: string, digest: string, bytes: Buffer): Promise<void> {
  const started = await fetch(`${base}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  await started.arrayBuffer();
  if (started.status !== 202) throw new Error(`upload start: HTTP ${started.status}`);
  const location = new URL(started.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
  await put.arrayBuffer();
  if (put.status !== 201) throw new Error(`upload: HTTP ${put.status}`);
}
