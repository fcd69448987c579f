/**
 *   oci-blobs: warm hits on 20 OCI blobs (BENCH_OCI_BLOB_KIB, default 1 MiB), 64 connections:
 *   the mirror (its own process) vs docker-registry serving them itself (the CNCF distribution
 *   registry, the upstream) vs nginx proxy_cache in front of the same registry vs a bare
 *   node:http server with the same bytes in memory. Every server on CPU 0; the caches reach the
 *   registry through a counting front, so the bench can assert the warm rounds never did.
 */
import { createHash, randomBytes } from 'node:crypto';
import { startBareNode, type BareFile } from './anchors/bare-node.js';
import { startCountingFront } from './anchors/counting-front.js';
import { pushBlob, startDockerRegistry } from './anchors/docker-registry.js';
import { startMirrorProcess } from './anchors/mirror-process.js';
import { startNginxCache } from './anchors/nginx.js';
import { isSkipped, type Target } from './anchors/target.js';
import { compare, split, type Measured } from './compare.js';
import { CONNECTIONS, ROUNDS, SECONDS, warm } from './settings.js';

const BLOBS = 20;
const BLOB_KIB = Number(process.env.BENCH_OCI_BLOB_KIB ?? 1024);

export async function ociWarmBlobs(): Promise<void> {
  const registry = await startDockerRegistry();
  if (isSkipped(registry)) {
    console.log(`  skipped: ${registry.skipped}`);
    return;
  }
  const started: Target[] = [registry];
  try {
    const front = await startCountingFront(registry.url);
    const blobPaths: string[] = [];
    const bare = new Map<string, BareFile>();
    for (let i = 0; i < BLOBS; i++) {
      const bytes = randomBytes(BLOB_KIB * 1024);
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      await pushBlob(registry.url, 'bench/app', digest, bytes);
      const path = `/v2/bench/app/blobs/${digest}`;
      blobPaths.push(path);
      bare.set(path, { bytes });
    }
    console.log(`  ${BLOBS} blobs of ${BLOB_KIB} KiB in docker-registry`);
    // warn: the blobs are checked against their digests all the same; there is no cosign signature to pin here.
    const mirror = await startMirrorProcess([{ name: 'hub', format: 'oci', upstream: front.url, verify: 'warn' }]);
    started.push(mirror);
    const { targets, skipped } = split([await startNginxCache(front.url), await startBareNode(bare)]);
    started.push(...targets);
    const mirrorPaths = blobPaths.map((p) => p.replace('/v2/', '/v2/hub/'));
    await warm(mirror.url, mirrorPaths);
    for (const t of targets) if (t.name.startsWith('nginx')) await warm(t.url, blobPaths);
    const measured: Measured[] = [{ target: mirror, paths: mirrorPaths }, { target: registry, paths: blobPaths }, ...targets.map((t) => ({ target: t, paths: blobPaths }))];
    await compare(measured, skipped, {
      title: `OCI blobs, ${BLOB_KIB} KiB, warm hits`, connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, best: 'rps', upstreamRequests: () => front.requests(),
    });
    await front.stop();
  } finally {
    for (const t of started) await t.stop();
  }
}
