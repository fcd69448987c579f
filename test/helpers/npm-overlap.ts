/**
 * Fixture ordering for cold npm tarballs (issue 13): the registry answers a packument only once a
 * tarball has been sent whole, so whatever the mirror does with that tarball, it does before it
 * has the packument, let alone verified it.
 */
import type { FixtureNpmRegistry } from './fixture-npm-registry.js';

/** Serves `tarballBytes` at `tarballPath`, and `name`'s packument (as published) only after them. */
export function packumentAfterTarball(registry: FixtureNpmRegistry, name: string, tarballPath: string, tarballBytes: Buffer): { tarballSent: Promise<void> } {
  let sent!: () => void;
  const tarballSent = new Promise<void>((resolve) => { sent = resolve; });
  registry.upstream.setHandler(tarballPath, (_req, res) => {
    res.once('finish', sent);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(tarballBytes.length) });
    res.end(tarballBytes);
  });
  registry.upstream.setHandler(registry.packumentPath(name), async (_req, res) => {
    await tarballSent;
    const body = Buffer.from(JSON.stringify(registry.packument(name)));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
    res.end(body);
  });
  return { tarballSent };
}

/** The bytes with their last bit flipped: a tarball whose digest no longer matches its integrity. */
export function flipLastBit(bytes: Buffer): Buffer {
  return Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from([bytes.at(-1)! ^ 1])]);
}
