/**
 *   oci-big-blob: one 1 GiB blob pulled through a cold mirror from Debian's docker-registry,
 *   against a direct pull from that registry (the baseline) in the same run, then warm.
 *   Reports wall time ratios and the mirror process's peak RSS (VmHWM, the mirror runs as its own
 *   `countersign serve` process) above its idle RSS: the download is streamed to the client from
 *   its temp file, so memory should stay flat.
 *   The client is curl in a child process, so its buffers are not counted. Unlike the request-rate
 *   benches this one is not pinned to one CPU: the registry it is compared with uses every core,
 *   and so would a production mirror (its file writes and fsync run on libuv's thread pool).
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { dockerRegistryBinary, startFixtureRegistry } from '../test/helpers/oci-fixture-registry.js';
import { vmMiB } from './anchors/process-memory.js';
import { startMirrorProcess } from './anchors/mirror-process.js';
import { pinSelf, unpinSelf } from './load-child.js';

const MIB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_BLOB_MIB ?? 1024);

export async function ociBigBlob(): Promise<void> {
  try {
    dockerRegistryBinary();
  } catch (err) {
    console.log(`  skipped: ${(err as Error).message}`);
    return;
  }
  unpinSelf();
  const registry = await startFixtureRegistry();
  const direct = `http://${registry.backendHost}`;
  const chunk = randomBytes(MIB);
  const hash = createHash('sha256');
  for (let i = 0; i < SIZE_MIB; i++) hash.update(chunk);
  const digest = `sha256:${hash.digest('hex')}`;
  await upload(direct, 'bench/big', digest, chunk, SIZE_MIB);
  // The registry's copy goes to disk now, not while the mirror writes its own.
  execFileSync('sync');
  // The mirror's upstream is the registry itself, not the test front, so both pulls read the same server.
  // warn: the blob is checked against its digest all the same; the image carries no cosign signature to pin.
  const mirror = await startMirrorProcess([{ name: 'hub', format: 'oci', upstream: direct, verify: 'warn', maxObjectSize: '4GiB' }], { anyCpu: true });
  const pid = mirror.pids[0]!;
  try {
    const path = `/v2/bench/big/blobs/${digest}`;
    // A cold mirror must also put every byte on disk: the same size written and fsynced where its blobs go.
    const disk = await writeAndSync(join(mirror.dataDir, 'bench-disk-baseline'), chunk, SIZE_MIB);
    execFileSync('sync');
    const baseline = await pull(`${direct}${path}`);
    const idleRss = vmMiB(pid, 'VmRSS') ?? 0;
    const idlePeak = vmMiB(pid, 'VmHWM') ?? 0;
    const cold = await pull(`${mirror.url}/v2/hub/bench/big/blobs/${digest}`);
    const coldPeak = vmMiB(pid, 'VmHWM') ?? 0;
    const warm = await pull(`${mirror.url}/v2/hub/bench/big/blobs/${digest}`);
    for (const [name, r] of Object.entries({ baseline, cold, warm })) {
      if (r.status !== 200 || r.bytes !== SIZE_MIB * MIB) throw new Error(`${name} pull: HTTP ${r.status}, ${r.bytes} bytes`);
    }
    if (warm.cache !== 'HIT') throw new Error(`the warm pull was not a hit (X-Cache ${warm.cache}): the cold pull did not store the blob`);
    const rate = (r: { seconds: number }): string => `${(SIZE_MIB / r.seconds).toFixed(0)} MiB/s`;
    console.log(`blob: ${SIZE_MIB} MiB`);
    console.log(`  direct from docker-registry (baseline): ${baseline.seconds.toFixed(2)} s (${rate(baseline)})`);
    console.log(`  writing and fsyncing as many bytes on the mirror's disk (disk baseline): ${disk.seconds.toFixed(2)} s (${rate(disk)})`);
    console.log(`  cold through the mirror: ${cold.seconds.toFixed(2)} s (${rate(cold)}), ${(cold.seconds / baseline.seconds).toFixed(2)}x baseline, ${(cold.seconds / (baseline.seconds + disk.seconds)).toFixed(2)}x (baseline + disk baseline); first byte after ${(cold.firstByte * 1000).toFixed(0)} ms`);
    console.log(`  warm from the mirror's store: ${warm.seconds.toFixed(2)} s (${rate(warm)}), ${(warm.seconds / baseline.seconds).toFixed(2)}x baseline`);
    console.log(`  mirror process RSS: idle ${idleRss} MiB (peak so far ${idlePeak} MiB), peak after the cold pull ${coldPeak} MiB (+${(coldPeak - idlePeak).toFixed(0)} MiB for a ${SIZE_MIB} MiB blob), peak after the warm pull ${vmMiB(pid, 'VmHWM')} MiB`);
  } finally {
    await mirror.stop();
    await registry.stop();
    pinSelf();
  }
}

/** A monolithic upload (distribution-spec "POST then PUT"), streamed from one repeated chunk. */
async function upload(base: string, name: string, digest: string, chunk: Buffer, count: number): Promise<void> {
  const started = await fetch(`${base}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  if (started.status !== 202) throw new Error(`upload start: HTTP ${started.status}`);
  const location = new URL(started.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  await new Promise<void>((resolve, reject) => {
    const req = request(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': chunk.length * count } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`upload: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    let sent = 0;
    const write = (): void => {
      while (sent < count) {
        sent++;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

function pull(url: string): Promise<{ status: number; bytes: number; seconds: number; firstByte: number; cache: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total} %{time_starttransfer} %header{x-cache}', url], (err, stdout) => {
      if (err) return reject(err);
      const [status, bytes, seconds, firstByte, cache] = stdout.trim().split(' ') as [string, string, string, string, string | undefined];
      resolve({ status: Number(status), bytes: Number(bytes), seconds: Number(seconds), firstByte: Number(firstByte), cache: cache ?? '' });
    });
  });
}

async function writeAndSync(file: string, chunk: Buffer, count: number): Promise<{ seconds: number }> {
  const started = performance.now();
  const out = createWriteStream(file, { highWaterMark: chunk.length });
  for (let i = 0; i < count; i++) if (!out.write(chunk)) await new Promise<void>((ok) => out.once('drain', () => ok()));
  out.end();
  await finished(out);
  const fh = await open(file, 'r');
  await fh.sync();
  await fh.close();
  const seconds = (performance.now() - started) / 1000;
  await rm(file);
  return { seconds };
}
