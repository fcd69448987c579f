/**
 * A Swift package registry upstream for tests (SE-0292 API on a real HTTP server on 127.0.0.1):
 * source archives made by the real `zip` from a package directory, as `swift package
 * archive-source` lays them out (`<Name>/Package.swift`, …); signed releases carry manifests and
 * an archive signed with OpenSSL by a test publisher's PKI (swift-openssl.ts), unsigned ones none.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { FixtureUpstream } from './fixture-upstream.js';
import { cmsSign, type TestPki } from './swift-openssl.js';

const run = promisify(execFile);

export interface SwiftRelease {
  scope: string;
  name: string;
  version: string;
  /** Signed by this PKI (manifests and archive), or unsigned. */
  signer?: TestPki;
  /** Extra manifests, e.g. {"Package@swift-5.8.swift": "…"}. */
  versionedManifests?: Record<string, string>;
  /** Who signs the manifests inside (default: `signer`); null: nobody, while the archive is signed. */
  manifestSigner?: TestPki | null;
  /** Replace the archive signature in the metadata (e.g. one over other bytes). */
  signatureOverride?: Buffer;
}

export interface PublishedRelease {
  zip: Buffer;
  checksum: string;
  metadata: Record<string, unknown>;
  manifest: Buffer;
}

export function manifestText(name: string): string {
  return `// swift-tools-version:5.7\nimport PackageDescription\n\nlet package = Package(\n    name: "${name}",\n    products: [.library(name: "${name}", targets: ["${name}"])],\n    targets: [.target(name: "${name}")]\n)\n`;
}

/** The archive bytes for a release (deterministic: fixed times, `zip -X`). */
export async function makeSourceArchive(release: SwiftRelease): Promise<{ zip: Buffer; manifest: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-swift-pkg-'));
  try {
    const root = join(dir, release.name);
    const files: Record<string, Buffer> = {
      'Package.swift': Buffer.from(manifestText(release.name)),
      [`Sources/${release.name}/${release.name}.swift`]: Buffer.from(`public struct ${release.name} {\n    public static let version = "${release.version}"\n    public init() {}\n}\n`),
      'README.md': Buffer.from(`# ${release.name} ${release.version}\n`),
    };
    for (const [file, text] of Object.entries(release.versionedManifests ?? {})) files[file] = Buffer.from(text);
    for (const [file, bytes] of Object.entries(files)) {
      let content = bytes;
      const manifestSigner = release.manifestSigner === undefined ? release.signer : release.manifestSigner;
      if (manifestSigner && /^Package(@swift-[\d.]+)?\.swift$/.test(file)) {
        const sig = await cmsSign(manifestSigner, bytes);
        content = Buffer.concat([bytes, Buffer.from(`\n// signature: cms-1.0.0;${sig.toString('base64')}`)]);
      }
      await mkdir(dirname(join(root, file)), { recursive: true });
      await writeFile(join(root, file), content);
    }
    const fixed = new Date('2024-01-02T03:04:06Z');
    for (const file of Object.keys(files)) await utimes(join(root, file), fixed, fixed);
    await run('zip', ['-X', '-q', '-r', join(dir, 'out.zip'), release.name], { cwd: dir });
    return { zip: await readFile(join(dir, 'out.zip')), manifest: await readFile(join(root, 'Package.swift')) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Publishes a release on the fixture: list, metadata, archive and manifest endpoints. */
export async function publishSwiftRelease(upstream: FixtureUpstream, release: SwiftRelease, list: Map<string, string[]>): Promise<PublishedRelease> {
  const { zip, manifest } = await makeSourceArchive(release);
  const checksum = createHash('sha256').update(zip).digest('hex');
  const base = `/${release.scope}/${release.name}`;
  const resource: Record<string, unknown> = { name: 'source-archive', type: 'application/zip', checksum };
  if (release.signer) {
    const signature = release.signatureOverride ?? (await cmsSign(release.signer, zip));
    resource.signing = { signatureBase64Encoded: signature.toString('base64'), signatureFormat: 'cms-1.0.0' };
  }
  const metadata = {
    id: `${release.scope}.${release.name}`, version: release.version, resources: [resource],
    metadata: { description: `${release.name} for tests`, repositoryURLs: [`https://git.upstream.example/${release.scope}/${release.name}.git`] },
    publishedAt: '2024-01-02T03:04:05Z',
  };
  upstream.setFile(`${base}/${release.version}`, JSON.stringify(metadata), { contentType: 'application/json' });
  upstream.setFile(`${base}/${release.version}.zip`, zip, { contentType: 'application/zip' });
  upstream.setFile(`${base}/${release.version}/Package.swift`, manifest, { contentType: 'text/x-swift' });
  const versions = list.get(base) ?? [];
  if (!versions.includes(release.version)) versions.push(release.version);
  list.set(base, versions);
  const releases = Object.fromEntries(versions.map((v) => [v, { url: `${upstream.url}${base}/${v}` }]));
  upstream.setFile(base, JSON.stringify({ releases }), { contentType: 'application/json' });
  return { zip, checksum, metadata, manifest };
}
