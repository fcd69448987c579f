/**
 * The headers of registry responses (Registry.md §4): `Content-Version: 1` on all, the archive's
 * `Content-Disposition`, `Digest` and signature headers, the manifest's `Link: rel="alternate"` per
 * versioned manifest, the release list's `latest-version` link. Headers are made from what was
 * served, so the facts they need (an archive's signature, a release's manifests) are remembered
 * when the mirror serves or derives the documents that hold them, and survive a restart that way:
 * clients fetch the metadata before the archive, and the archive before the versioned manifests.
 */
import { LRUCache } from 'lru-cache';
import { SIGNATURE_FORMAT } from './cms-sign.js';
import { latestRelease, parseReleaseList } from './registry-documents.js';
import { parseRegistryPath } from './registry-path.js';
import { packageManifests } from './served-archive.js';
import { readZip } from './zip-archive.js';

export class RegistryHeaders {
  readonly #repositoryUrl: string;
  /** Served archive SHA-256 → base64 signature. */
  readonly #archiveSignatures = new LRUCache<string, string>({ max: 1024 });
  /** `scope/name/version` → manifest file names in the served archive. */
  readonly #manifestFiles = new LRUCache<string, string[]>({ max: 1024 });

  constructor(repositoryUrl: string) {
    this.#repositoryUrl = repositoryUrl;
  }

  archiveSigned(archiveSha256: string, signature: Buffer): void {
    this.#archiveSignatures.set(archiveSha256, signature.toString('base64'));
  }

  manifestsOf(release: string, files: string[]): void {
    this.#manifestFiles.set(release, files);
  }

  headers(path: string, served: { sha256: string; bytes?: Buffer }): Record<string, string> {
    const headers: Record<string, string> = { 'content-version': '1' };
    const route = parseRegistryPath(path, '');
    switch (route.kind) {
      case 'release':
        if (served.bytes) this.#learnFromMetadata(served.bytes);
        break;
      case 'archive': {
        if (served.bytes) this.#learnFromArchive(`${route.pkg.scope}/${route.pkg.name}/${route.version}`, served.bytes);
        headers['content-disposition'] = `attachment; filename="${route.pkg.name}-${route.version}.zip"`;
        headers.digest = `sha-256=${Buffer.from(served.sha256, 'hex').toString('base64')}`;
        const signature = this.#archiveSignatures.get(served.sha256);
        if (signature) Object.assign(headers, { 'x-swift-package-signature-format': SIGNATURE_FORMAT, 'x-swift-package-signature': signature });
        break;
      }
      case 'manifest': {
        headers['content-disposition'] = 'attachment; filename="Package.swift"';
        const files = this.#manifestFiles.get(`${route.pkg.scope}/${route.pkg.name}/${route.version}`) ?? [];
        const url = `${this.#repositoryUrl}/${route.pkg.scope}/${route.pkg.name}/${encodeURIComponent(route.version)}/Package.swift`;
        const links = files.flatMap((f) => {
          const tools = /^Package@swift-(.+)\.swift$/.exec(f)?.[1];
          return tools ? [`<${url}?swift-version=${tools}>; rel="alternate"; filename="${f}"; swift-tools-version="${tools}"`] : [];
        });
        if (links.length > 0) headers.link = links.join(', ');
        break;
      }
      case 'releases': {
        const latest = served.bytes ? mirrorOwn(() => latestRelease(parseReleaseList(served.bytes!, path))) : undefined;
        if (latest) headers.link = `<${this.#repositoryUrl}/${route.pkg.scope}/${route.pkg.name}/${encodeURIComponent(latest)}>; rel="latest-version"`;
        break;
      }
      default:
        break;
    }
    return headers;
  }

  #learnFromMetadata(metadata: Buffer): void {
    mirrorOwn(() => {
      const resource = (JSON.parse(metadata.toString('utf8')) as { resources?: { checksum?: unknown; signing?: { signatureBase64Encoded?: unknown } }[] }).resources?.[0];
      if (typeof resource?.checksum === 'string' && typeof resource.signing?.signatureBase64Encoded === 'string') {
        this.#archiveSignatures.set(resource.checksum, resource.signing.signatureBase64Encoded);
      }
    });
  }

  #learnFromArchive(release: string, archive: Buffer): void {
    if (this.#manifestFiles.has(release)) return;
    mirrorOwn(() => this.#manifestFiles.set(release, [...packageManifests(readZip(archive), release).entries.keys()]));
  }
}

/** These are the mirror's own documents: one it cannot read yields no header rather than a failed response. */
function mirrorOwn<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
