/**
 * Swift package registry (SE-0292 API, SE-0391 signing): release lists, release metadata,
 * manifests and source archives, with identifier lookup passed through.
 *
 * Upstream trust: a release's metadata names its source archive's SHA-256 and carries the
 * upstream's detached `cms-1.0.0` signature; that signature must verify over the checksum and
 * chain to `trust.roots` (cms-signature.ts), and the core then holds the archive to the checksum.
 *
 * What clients get (the re-signing cascade): every root manifest in the archive is signed by the
 * org code-signing leaf (appended signature line), the archive is rebuilt around them
 * (served-archive.ts), the rebuilt archive is signed, and the metadata names the rebuilt
 * archive's checksum and that signature. Manifests served on their own are the bytes inside the
 * rebuilt archive. All of these are derived views of the upstream archive, made once per
 * upstream revision and signing key.
 */
import { X509Certificate } from 'node:crypto';
import { MirrorError } from '../../errors.js';
import type { Classified, DeriveContext, DeriveInput, FormatAdapter, FormatRepository, ObjectRef, UpstreamObject, VerifyContext, VerifyOutcome } from '../types.js';
import { readRootCertificates, verifyCmsSignature, MAX_SIGNATURE_BYTES } from './cms-signature.js';
import { signCms, SIGNATURE_FORMAT } from './cms-sign.js';
import { ManifestError } from './manifest-signature.js';
import { problemDetails } from './problem-details.js';
import { parseReleaseList, parseReleaseMetadata, RegistryDocumentError, servedReleaseList, servedReleaseMetadata } from './registry-documents.js';
import { RegistryHeaders } from './response-headers.js';
import { parseRegistryPath, type PackageId } from './registry-path.js';
import { buildServedArchive, checkUpstreamManifests, manifestFromArchive, packageManifests } from './served-archive.js';
import { setupText } from './setup.js';
import { swiftTrustSchema, type SwiftTrust } from './trust.js';
import { readZip, ZipFormatError } from './zip-archive.js';

const JSON_TYPE = 'application/json';
const ACCEPT_JSON = 'application/vnd.swift.registry.v1+json';
const ACCEPT_ZIP = 'application/vnd.swift.registry.v1+zip';
const SWIFT_TYPE = 'text/x-swift';
const ZIP_TYPE = 'application/zip';

export const swiftFormat: FormatAdapter<SwiftTrust> = {
  name: 'swift',
  trustSchema: swiftTrustSchema,

  async open({ repository, trust, verify, keys, readTrustFile, repositoryUrl, secureRepositoryUrl }): Promise<FormatRepository> {
    if (verify === 'require' && !trust.roots) {
      throw new MirrorError('CONFIG_INVALID', `Repository "${repository}" has verify: require but no trust.roots to verify upstream package signatures with`, { repository });
    }
    const roots: X509Certificate[] = [];
    for (const file of trust.roots ?? []) {
      try {
        roots.push(...readRootCertificates(await readTrustFile(file), file));
      } catch (err) {
        throw new MirrorError('CONFIG_INVALID', `Repository "${repository}": trust.roots ${file}: ${(err as Error).message}`, { repository }, { cause: err });
      }
    }
    const headers = new RegistryHeaders(repositoryUrl);

    const base = (p: PackageId): string => `${p.scope}/${p.name}`;
    const releasesRef = (p: PackageId): ObjectRef => ({ path: base(p), mutable: true, contentType: JSON_TYPE, accept: ACCEPT_JSON });
    const metadataRef = (p: PackageId, version: string): ObjectRef => ({
      path: `${base(p)}/${version}`, mutable: true, contentType: JSON_TYPE, accept: ACCEPT_JSON, upstreamPath: `${base(p)}/${encodeURIComponent(version)}`,
    });
    const archiveRef = (p: PackageId, version: string): ObjectRef => ({
      path: `${base(p)}/${version}.zip`, mutable: false, contentType: ZIP_TYPE, accept: ACCEPT_ZIP,
      upstreamPath: `${base(p)}/${encodeURIComponent(version)}.zip`, requires: [metadataRef(p, version)],
    });
    const archiveOf = (path: string): ObjectRef => {
      const [scope = '', name = '', file = ''] = path.split('/');
      return archiveRef({ scope, name }, file.slice(0, -4));
    };
    const fail = (reason: string, vouches?: VerifyOutcome['vouches']): VerifyOutcome => ({ ok: false, code: 'VERIFICATION_FAILED', reason, ...(vouches ? { vouches } : {}) });

    const verifyMetadata = async (ctx: VerifyContext, object: UpstreamObject): Promise<VerifyOutcome> => {
      const meta = parseReleaseMetadata(await object.readAll(), object.path);
      const [scope = '', name = '', version = ''] = object.path.split('/');
      // The signature covers the archive, not which release it is: the metadata must at least name this one.
      if (meta.id.toLowerCase() !== `${scope}.${name}`.toLowerCase() || meta.version !== version) {
        return { ok: false, code: 'MALFORMED', reason: `${object.path} describes ${meta.id} ${meta.version}, not ${scope}.${name} ${version}` };
      }
      const archivePath = `${object.path}.zip`;
      const vouches = [{ path: archivePath, algorithm: 'sha256' as const, digest: meta.archive.checksum }];
      // A published release never changes: a different archive under the same version is refused (the stored one stays served).
      const before = ctx.stored(object.path);
      if (before) {
        const old = parseReleaseMetadata(await before.readAll(), object.path);
        if (old.archive.checksum !== meta.archive.checksum) {
          return fail(`the upstream changed the source archive of released ${object.path} (checksum ${old.archive.checksum} → ${meta.archive.checksum})`);
        }
      }
      const signing = meta.archive.signing;
      if (!signing) return fail(`${object.path}: the upstream did not sign the source archive`, vouches);
      if (signing.signatureFormat !== SIGNATURE_FORMAT) return fail(`${object.path}: unsupported signature format "${signing.signatureFormat}"`, vouches);
      if (roots.length === 0) return fail(`repository ${repository} has no trust.roots to verify ${object.path} with`, vouches);
      const signature = Buffer.from(signing.signatureBase64Encoded, 'base64');
      if (signature.length > MAX_SIGNATURE_BYTES || signature.toString('base64') !== signing.signatureBase64Encoded.replace(/\s/g, '')) {
        return fail(`${object.path}: the source archive signature is not base64 within ${MAX_SIGNATURE_BYTES} bytes`, vouches);
      }
      const check = verifyCmsSignature(signature, meta.archive.checksum, roots);
      if (!check.ok) return fail(`${object.path}: the source archive signature does not verify: ${check.reason}`, vouches);
      return { ok: true, by: [`cms:${check.leaf.fingerprint256}`, `root:${check.root.fingerprint256}`], vouches };
    };

    const verifyArchive = async (ctx: VerifyContext, object: UpstreamObject): Promise<VerifyOutcome> => {
      // The core already matched the bytes against the checksum the release metadata names.
      const vouched = ctx.expectations(object.path).filter((e) => e.verified !== false);
      if (vouched.length === 0) return fail(`${object.path} is not named by release metadata whose signature verified`);
      // As SwiftPM does for a signed release: every manifest must carry a signature that verifies too.
      const manifests = checkUpstreamManifests(await object.readAll(), object.path, roots);
      if (!manifests.ok) return manifests.malformed ? { ok: false, code: 'MALFORMED', reason: manifests.reason } : fail(manifests.reason);
      return { ok: true, by: [...vouched.map((e) => `checksum:${e.algorithm}@${e.source}`), ...manifests.by] };
    };

    const servedArchive = async (ctx: DeriveContext, path: string): Promise<{ sha256: string; bytes: Buffer }> => ctx.derivedOf(archiveOf(path), 'archive');

    const derive = async (ctx: DeriveContext, view: string, input: DeriveInput): Promise<Buffer> => {
      if (view === 'releases') {
        const [scope = '', name = ''] = input.path.split('/');
        return servedReleaseList(parseReleaseList(input.bytes, input.path), { scope, name }, repositoryUrl);
      }
      if (view === 'metadata') {
        const meta = parseReleaseMetadata(input.bytes, input.path);
        const archive = await servedArchive(ctx, `${input.path}.zip`);
        const signature = (await ctx.derivedOf(archiveOf(`${input.path}.zip`), 'archive-signature')).bytes;
        headers.archiveSigned(archive.sha256, signature);
        return servedReleaseMetadata(meta, { checksum: archive.sha256, signature, signatureFormat: SIGNATURE_FORMAT });
      }
      if (view === 'archive') {
        const bytes = await buildServedArchive(ctx, input.path, input.bytes);
        headers.manifestsOf(input.path.slice(0, -4), [...packageManifests(readZip(bytes), input.path).entries.keys()]);
        return bytes;
      }
      if (view === 'archive-signature') {
        const archive = await servedArchive(ctx, input.path);
        const { signature } = await signCms(ctx, input.path, archive.bytes);
        headers.archiveSigned(archive.sha256, signature);
        return signature;
      }
      if (view.startsWith('manifest:')) {
        const file = view.slice('manifest:'.length);
        const archive = await servedArchive(ctx, input.path);
        headers.manifestsOf(input.path.slice(0, -4), [...packageManifests(readZip(archive.bytes), input.path).entries.keys()]);
        // An unknown swift-version gets the unversioned manifest (the registry's 303 to it, followed).
        const manifest = manifestFromArchive(archive.bytes, input.path, file) ?? manifestFromArchive(archive.bytes, input.path, 'Package.swift');
        if (!manifest) throw new MirrorError('NOT_FOUND', `${input.path} has no ${file}`, { repository, object: input.path });
        return manifest;
      }
      throw new MirrorError('INTERNAL', `swift has no view "${view}"`, { repository, object: input.path });
    };

    return {
      classify(path, request): Classified {
        if (path === '-/setup') {
          const generate = (): Buffer => Buffer.from(setupText({
            repository, registryUrl: secureRepositoryUrl ?? repositoryUrl, repositoryUrl, mode: verify,
            rootFingerprint: new X509Certificate(keys.exportPublic('x509-ca')).fingerprint256,
          }));
          return { kind: 'generated', contentType: 'text/plain; charset=utf-8', generate };
        }
        if (path === '-/org-root.cer') {
          return { kind: 'generated', contentType: 'application/pkix-cert', generate: () => Buffer.from(new X509Certificate(keys.exportPublic('x509-ca')).raw) };
        }
        const route = parseRegistryPath(path, request.query ?? '');
        switch (route.kind) {
          case 'releases':
            return { kind: 'view', of: releasesRef(route.pkg), view: 'releases', contentType: JSON_TYPE };
          case 'release':
            return { kind: 'view', of: metadataRef(route.pkg, route.version), view: 'metadata', contentType: JSON_TYPE };
          case 'archive':
            return { kind: 'view', of: archiveRef(route.pkg, route.version), view: 'archive', contentType: ZIP_TYPE };
          case 'manifest':
            return { kind: 'view', of: archiveRef(route.pkg, route.version), view: `manifest:${route.file}`, contentType: SWIFT_TYPE };
          case 'identifiers': {
            const lookup = `identifiers?url=${encodeURIComponent(route.url)}`;
            return { kind: 'object', path: lookup, upstreamPath: lookup, mutable: true, contentType: JSON_TYPE, accept: ACCEPT_JSON };
          }
          case 'invalid':
            return { kind: 'not-found', reason: route.reason };
          default:
            return route satisfies never;
        }
      },

      async verify(ctx, object): Promise<VerifyOutcome> {
        try {
          if (object.path.startsWith('identifiers?')) return { ok: true, by: ['lookup'], anchor: 'none' };
          if (object.path.endsWith('.zip')) return await verifyArchive(ctx, object);
          const depth = object.path.split('/').length;
          if (depth === 2) {
            parseReleaseList(await object.readAll(), object.path);
            // A list of versions vouches for nothing and is never signed.
            return { ok: true, by: ['release-list'], anchor: 'none' };
          }
          return await verifyMetadata(ctx, object);
        } catch (err) {
          if (err instanceof RegistryDocumentError) return { ok: false, code: 'MALFORMED', reason: err.message };
          throw err;
        }
      },

      async derive(ctx, view, input): Promise<Buffer> {
        try {
          return await derive(ctx, view, input);
        } catch (err) {
          if (err instanceof ZipFormatError || err instanceof ManifestError || err instanceof RegistryDocumentError) {
            throw new MirrorError('MALFORMED', `Cannot re-sign ${input.path}: ${err.message}`, { repository, object: input.path }, { cause: err });
          }
          throw err;
        }
      },

      responseHeaders(path, served) {
        return headers.headers(path, served);
      },

      renderError(_path, error) {
        return problemDetails(error);
      },
    };
  },
};
