/**
 * The runtime's own limit: a bare `node:http` server answering the same bytes from memory, in
 * its own process on the mirror's CPU. Anything the mirror does beyond this is its own cost.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/mirror-harness.js';
import { spawnOnCpu0, stopChild, waitUntilUp, type Target } from './target.js';

export interface BareFile {
  bytes: Buffer;
  contentType?: string;
}

export async function startBareNode(files: Map<string, BareFile>, name = 'bare node:http'): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-bench-bare-'));
  const manifest: Record<string, { file: string; contentType: string }> = {};
  let i = 0;
  for (const [path, f] of files) {
    const file = join(dir, `f${i++}`);
    await writeFile(file, f.bytes);
    manifest[path] = { file, contentType: f.contentType ?? 'application/octet-stream' };
  }
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const port = await freePort();
  const child = spawnOnCpu0(process.execPath, ['--import', 'tsx', join(process.cwd(), 'bench/anchors/bare-node-server.ts'), String(port), join(dir, 'manifest.json')]);
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${url}/`, child, 'bare node:http server');
  return {
    name,
    url,
    pids: [child.pid!],
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
