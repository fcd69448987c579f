/**
 * A Docker manifest list (application/vnd.docker.distribution.manifest.list.v2+json) of Docker
 * schema 2 images, pushed with the registry's own push API (blob upload POST + PUT, manifest PUT),
 * since skopeo writes OCI indexes for multi-platform OCI layouts. Children are pushed first: the
 * registry refuses a list naming manifests it does not have.
 * https://distribution.github.io/distribution/spec/manifest-v2-2/
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tarOf, type ImagePlatform } from './oci-image.js';

export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

export interface PushedList {
  /** `sha256:<hex>` of the list as pushed (its exact bytes). */
  digest: string;
  bytes: Buffer;
  children: { digest: string; platform: { os: string; architecture: string } }[];
}

const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Pushes the images and the list under `tag` to the registry at `registryUrl` (no auth). */
export async function pushDockerManifestList(registryUrl: string, name: string, tag: string, platforms: ImagePlatform[]): Promise<PushedList> {
  const entries = [];
  for (const p of platforms) {
    const tar = tarOf(p.files);
    const layer = gzipSync(tar, { level: 9 });
    const config = Buffer.from(JSON.stringify({
      architecture: p.architecture, os: p.os, config: {}, rootfs: { type: 'layers', diff_ids: [digestOf(tar)] },
    }));
    await uploadBlob(registryUrl, name, layer);
    await uploadBlob(registryUrl, name, config);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, size: config.byteLength, digest: digestOf(config) },
      layers: [{ mediaType: DOCKER_LAYER, size: layer.byteLength, digest: digestOf(layer) }],
    }));
    await putManifest(registryUrl, name, digestOf(manifest), manifest, DOCKER_MANIFEST);
    entries.push({ bytes: manifest, platform: { os: p.os, architecture: p.architecture } });
  }
  const list = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: DOCKER_LIST,
    manifests: entries.map((e) => ({ mediaType: DOCKER_MANIFEST, size: e.bytes.byteLength, digest: digestOf(e.bytes), platform: e.platform })),
  }));
  await putManifest(registryUrl, name, tag, list, DOCKER_LIST);
  return { digest: digestOf(list), bytes: list, children: entries.map((e) => ({ digest: digestOf(e.bytes), platform: e.platform })) };
}

/** Uploads one blob with the registry's monolithic upload (POST, then PUT with the digest). */
export async function uploadBlob(registryUrl: string, name: string, bytes: Buffer): Promise<void> {
  const start = await fetch(`${registryUrl}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  await start.arrayBuffer();
  const location = start.headers.get('location');
  if (start.status !== 202 || !location) throw new Error(`blob upload to ${name} not started: HTTP ${start.status}`);
  const url = new URL(location, registryUrl);
  url.searchParams.set('digest', digestOf(bytes));
  const put = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
  if (put.status !== 201) throw new Error(`blob upload to ${name} failed: HTTP ${put.status} ${await put.text()}`);
  await put.arrayBuffer().catch(() => undefined);
}

/** PUTs a manifest under a tag or digest. */
export async function putManifest(registryUrl: string, name: string, ref: string, bytes: Buffer, mediaType: string): Promise<void> {
  const res = await fetch(`${registryUrl}/v2/${name}/manifests/${ref}`, { method: 'PUT', headers: { 'content-type': mediaType }, body: bytes });
  if (res.status !== 201) throw new Error(`manifest ${name}:${ref} refused: HTTP ${res.status} ${await res.text()}`);
  await res.arrayBuffer().catch(() => undefined);
}
