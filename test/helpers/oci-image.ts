/**
 * Small real container images made by the tests: tar layers written here (ustar, gzip),
 * OCI image configs and manifests, single- and multi-platform, in an OCI image layout on
 * disk that `skopeo copy oci:<dir>:<tag> docker://…` pushes to a registry.
 * https://github.com/opencontainers/image-spec/blob/main/image-layout.md
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface ImagePlatform {
  os: string;
  architecture: string;
  /** File name → content; one layer per platform. */
  files: Record<string, string | Buffer>;
}

export interface ImageSpec {
  tag: string;
  platforms: ImagePlatform[];
  /** Several platforms make an index; one makes a plain manifest unless forced. */
  index?: boolean;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A minimal ustar archive of regular files (mode 0644, mtime 0, owner 0). */
export function tarOf(files: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const body = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${body.byteLength.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const byte of h) sum += byte;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(h, body, Buffer.alloc((512 - (body.byteLength % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export class OciLayout {
  readonly dir: string;
  readonly #refs: { mediaType: string; digest: string; size: number; annotations: Record<string, string> }[] = [];

  constructor(dir: string) {
    this.dir = dir;
  }

  async #blob(bytes: Buffer): Promise<{ digest: string; size: number }> {
    const hex = sha256(bytes);
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(this.dir, 'blobs', 'sha256', hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.byteLength };
  }

  async #image(p: ImagePlatform): Promise<{ digest: string; size: number; bytes: Buffer }> {
    const tar = tarOf(p.files);
    const layer = await this.#blob(gzipSync(tar, { level: 9 }));
    const config = await this.#blob(Buffer.from(JSON.stringify({
      architecture: p.architecture, os: p.os, config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tar)}`] },
    })));
    const bytes = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }));
    return { ...(await this.#blob(bytes)), bytes };
  }

  /** Adds an image under `tag`; returns the digest of its top manifest or index. */
  async add(spec: ImageSpec): Promise<string> {
    const made = [];
    for (const p of spec.platforms) made.push({ p, m: await this.#image(p) });
    let top: { digest: string; size: number; mediaType: string };
    if (made.length === 1 && !spec.index) {
      top = { ...made[0]!.m, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
    } else {
      const index = Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: made.map(({ p, m }) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: m.digest, size: m.size, platform: { os: p.os, architecture: p.architecture },
        })),
      }));
      top = { ...(await this.#blob(index)), mediaType: 'application/vnd.oci.image.index.v1+json' };
    }
    this.#refs.push({ mediaType: top.mediaType, digest: top.digest, size: top.size, annotations: { 'org.opencontainers.image.ref.name': spec.tag } });
    await writeFile(join(this.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: this.#refs }));
    return top.digest;
  }
}
