/**
 * RPM / dnf repositories: repodata/repomd.xml, the metadata it lists, and packages.
 *
 * Upstream trust: repomd.xml.asc verifies with `trust.keyring`; every file repomd.xml lists must
 * match its checksum there; every package must match its checksum in the verified primary and
 * carry a header signature by `trust.packageKeyring` (default: the same keyring).
 *
 * What clients get (the re-signing cascade): each package is re-signed in place with the org
 * OpenPGP key (the upstream's header signature replaced, so dnf, which wants every signature to
 * verify, needs one key); the package map (upstream pkgid → re-signed file) is made once per
 * primary by re-signing every package it lists; primary, filelists and other are rewritten from
 * that one map; repomd.xml lists the rewrites' checksums and sizes, and repomd.xml.asc signs it.
 * All of these are derived views keyed by upstream digests and the signing key, and the package
 * signatures are deterministic, so identical inputs always give identical bytes.
 *
 * With `trust.packages: keep` (for upstreams too large to re-sign on first request) packages and
 * primary/filelists/other are served byte-identical, and only repomd.xml (the upstream's, less the
 * entries the mirror does not serve) is signed by the org: dnf's repo_gpgcheck covers repomd.xml,
 * which covers each metadata file's checksum, and primary's checksum covers each package. Every
 * package is still verified (primary checksum and upstream header signature) before it is served,
 * against the primary's package list, read when the first package is asked for (package-list.ts).
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { MirrorError } from '../../errors.js';
import { loadOpenPgpKeyring, verifyDetached } from '../../trust/openpgp-trust.js';
import type { Classified, DeriveContext, DeriveInput, FormatAdapter, FormatRepository, IndexedInput, ObjectRef, UpstreamObject, VerifyContext, VerifyOutcome } from '../types.js';
import { compressionOf, decompressTo, DecompressError, metadataCap } from './decompress.js';
import { mapLimit } from '../map-limit.js';
import { decodePackageMap, describeResigned, encodePackageMap } from './package-map.js';
import { derivedTypeOf, isContentAddressed, safeHref, servedMetadataPath } from './paths.js';
import { countListedPkgids, readPrimary, rewritePkgidsGz, rewritePrimaryGz } from './primary.js';
import { packageListRef, packageListVouch, primaryOfPackageList } from './package-list.js';
import { keptRepomd, parseRepomd, repomdRevision, servedRepomd, type DerivedFile, type Repomd } from './repomd.js';
import { RpmFormatError } from './rpm-header.js';
import { parseRpm, signedHeaderBytes } from './rpm-package.js';
import { resignRpm } from './rpm-resign.js';
import { checkRpm } from './rpm-verify.js';
import { setupSnippet } from './setup.js';
import { rpmTrustSchema, type RpmTrust } from './trust.js';
import { MetadataError } from './xml-text.js';

const REPOMD = 'repodata/repomd.xml';
const XML = 'text/xml';
const RPM = 'application/x-rpm';
const MAX_SIGNATURE_BYTES = 64 * 1024;
/** Packages re-signed at once while a primary's package map is made. */
const PACKAGE_CONCURRENCY = 4;

export const rpmFormat: FormatAdapter<RpmTrust> = {
  name: 'rpm',
  trustSchema: rpmTrustSchema,

  async open({ repository, trust, verify, keys, readTrustFile, repositoryUrl }): Promise<FormatRepository> {
    if (verify === 'require' && !trust.keyring) {
      throw new MirrorError('CONFIG_INVALID', `Repository "${repository}" has verify: require but no trust.keyring to verify repomd.xml.asc with`, { repository });
    }
    const keyring = trust.keyring ? await loadOpenPgpKeyring(await readTrustFile(trust.keyring), trust.keyring) : undefined;
    const packageKeyring = trust.packageKeyring ? await loadOpenPgpKeyring(await readTrustFile(trust.packageKeyring), trust.packageKeyring) : keyring;
    /** Packages keep their upstream bytes (see above); the views have their own names, so a switch never serves the other mode's. */
    const keep = trust.packages === 'keep';
    // Parsed repomd.xml revisions, so the requests that follow one repomd parse it once.
    const parsed = new LRUCache<string, Repomd>({ max: 4 });
    const repomdOf = (sha256: string, bytes: Buffer): Repomd => {
      const known = parsed.get(sha256);
      if (known) return known;
      const md = parseRepomd(bytes);
      parsed.set(sha256, md);
      return md;
    };

    const repomdRef: ObjectRef = { path: REPOMD, mutable: true, contentType: XML };
    // What clients were served: a signature or a listed file must come from the same repomd revision.
    const pinnedRepomd: ObjectRef = { ...repomdRef, pinned: true };
    const metadataRef = (path: string, pinned = true): ObjectRef => ({ path, mutable: !isContentAddressed(path), requires: [pinnedRepomd], ...(pinned ? { pinned } : {}) });
    const packageRef = (path: string): ObjectRef => ({ path, mutable: false, contentType: RPM, requires: [pinnedRepomd] });
    const fail = (reason: string): VerifyOutcome => ({ ok: false, code: 'VERIFICATION_FAILED', reason });
    /**
     * The key file dnf imports (gpgkey=): the primary keys, and in a warn/off repository the
     * unverified keys too, since what did not verify there is signed by them and dnf refuses a
     * package or repomd.xml.asc by a key it lacks. A require repository never serves content signed
     * by the unverified keys, so it publishes only the primary ones: a client of it never trusts them.
     */
    const publishedKeys = (): string => verify === 'require'
      ? keys.openpgpPublicArmored('primary')
      : `${keys.openpgpPublicArmored('primary').trimEnd()}\n${keys.openpgpPublicArmored('unverified')}`;

    const resolveMetadata = (path: string, index: IndexedInput): Classified => {
      const md = repomdOf(index.sha256, index.bytes);
      for (const e of md.entries) {
        if (keep && e.role !== 'dropped' && e.path === path) return { kind: 'object', ...metadataRef(e.path), contentType: contentTypeOf(path) };
        if (keep) continue;
        if (e.role === 'derived' && servedMetadataPath(e.path) === path) return { kind: 'view', of: metadataRef(e.path), view: e.type, contentType: 'application/gzip' };
        if (e.role === 'kept' && e.path === path) return { kind: 'object', ...metadataRef(e.path), contentType: contentTypeOf(path) };
      }
      return { kind: 'not-found', reason: `${path} is not listed in the served ${REPOMD}` };
    };

    const verifyRepomd = async (ctx: VerifyContext, object: UpstreamObject): Promise<VerifyOutcome> => {
      if (!keyring) return fail(`repository ${repository} has no trust.keyring to verify ${REPOMD}.asc with`);
      const sig = await ctx.fetchAuxiliary(`${REPOMD}.asc`, MAX_SIGNATURE_BYTES);
      if (sig.kind === 'absent') return fail(`the upstream has no ${REPOMD}.asc`);
      const result = await verifyDetached(keyring, sig.bytes, object.read());
      if (!result.ok) return fail(`${REPOMD}.asc does not verify: ${result.reason}`);
      let md: Repomd;
      try {
        md = parseRepomd(await object.readAll());
      } catch (err) {
        if (err instanceof MetadataError) return fail(err.message);
        throw err;
      }
      const listed = md.entries.filter((e) => e.role !== 'dropped');
      const revision = repomdRevision(md);
      const primary = md.entries.find((e) => e.type === 'primary')!;
      return {
        ok: true,
        by: [`openpgp:${result.fingerprint}`],
        // The core refuses a repomd.xml older than the one it serves (a replayed, genuinely signed revision).
        ...(revision ? { revision } : {}),
        vouches: [
          ...listed.map((e) => ({ path: e.path, algorithm: e.algorithm, digest: e.digest, ...(e.size !== undefined ? { size: e.size } : {}) })),
          ...(keep ? [packageListVouch(primary)] : []),
        ],
        // A repomd revision is committed only with every file it lists verified beside it.
        companions: listed.map((e) => metadataRef(e.path, false)),
      };
    };

    const verifyListed = async (ctx: VerifyContext, object: UpstreamObject): Promise<VerifyOutcome> => {
      const vouched = ctx.expectations(object.path);
      const isPackage = object.path.endsWith('.rpm');
      if (vouched.length === 0) return fail(`${object.path} is not listed by a verified ${isPackage ? 'primary.xml' : REPOMD}`);
      const by = vouched.map((e) => `checksum:${e.algorithm}@${e.source}`);
      if (isPackage) {
        if (!packageKeyring) return fail(`repository ${repository} has no trust.packageKeyring to verify package signatures with`);
        const check = await checkRpm(await object.readAll(), packageKeyring);
        return check.ok ? { ok: true, by: [...by, ...check.by] } : fail(`${object.path}: ${check.reason}`);
      }
      const listOf = keep ? primaryOfPackageList(object.path) : undefined;
      const type = listOf ? 'primary' : derivedTypeOf(object.path);
      // Kept metadata is served as it came, covered by its checksum: only a package list is read.
      if (!type || (keep && !listOf)) return { ok: true, by };
      try {
        const bytes = await object.readAll();
        const compression = compressionOf(listOf ?? object.path);
        if (type !== 'primary') {
          await countListedPkgids(bytes, compression, metadataCap(bytes, compression), object.path);
          return { ok: true, by };
        }
        const packages = await readPrimary(bytes, compression, metadataCap(bytes, compression));
        return {
          ok: true,
          by,
          vouches: packages.map((p) => ({ path: p.path, algorithm: p.algorithm, digest: p.pkgid, size: p.size })),
          // Served metadata lists the re-signed packages, so a primary revision is taken only with all of them verified.
          // Kept packages are each verified when first asked for, against these vouches.
          ...(listOf ? {} : { companions: packages.map((p) => packageRef(p.path)) }),
        };
      } catch (err) {
        if (err instanceof MetadataError || err instanceof DecompressError) return fail(`${object.path}: ${err.message}`);
        throw err;
      }
    };

    /** The repomd.xml clients get for one upstream revision (the same bytes each time: every part is a cached, deterministic view). */
    const buildRepomd = async (ctx: DeriveContext, input: DeriveInput): Promise<Buffer> => {
      const md = repomdOf(input.sha256, input.bytes);
      const derived = new Map<string, DerivedFile>();
      for (const e of md.entries) {
        if (e.role !== 'derived') continue;
        const made = await ctx.derivedOf(metadataRef(e.path), e.type);
        // The mirror's own gzip, hashed as it decompresses (the rewrite may be as large as the upstream's).
        const openHash = createHash('sha256');
        const openSize = await decompressTo(made.bytes, 'gz', Number.MAX_SAFE_INTEGER, (c) => { openHash.update(c); });
        derived.set(e.type, {
          type: e.type as DerivedFile['type'], sha256: made.sha256, size: made.bytes.length, openSha256: openHash.digest('hex'), openSize,
        });
      }
      return servedRepomd(md, derived);
    };

    const packageMap = async (ctx: DeriveContext, input: DeriveInput): Promise<Buffer> => {
      if (input.path === REPOMD) {
        const primary = repomdOf(input.sha256, input.bytes).entries.find((e) => e.type === 'primary')!;
        return (await ctx.derivedOf(metadataRef(primary.path), 'package-map')).bytes;
      }
      const compression = compressionOf(input.path);
      const packages = await readPrimary(input.bytes, compression, metadataCap(input.bytes, compression));
      const resigned = await mapLimit(packages, PACKAGE_CONCURRENCY, async (p) => describeResigned(p, (await ctx.derivedOf(packageRef(p.path), 'package')).bytes));
      return encodePackageMap(resigned);
    };

    const derive = async (ctx: DeriveContext, view: string, input: DeriveInput): Promise<Buffer> => {
      switch (view) {
        case 'package': {
          const pkg = parseRpm(input.bytes);
          const { signature } = await ctx.sign({ scheme: 'openpgp-binary', object: input.path, data: signedHeaderBytes(pkg) });
          return resignRpm(pkg, signature);
        }
        case 'package-map':
          return packageMap(ctx, input);
        case 'primary': {
          const map = decodePackageMap((await ctx.derivedOf(metadataRef(input.path), 'package-map')).bytes);
          const compression = compressionOf(input.path);
          return rewritePrimaryGz(input.bytes, compression, metadataCap(input.bytes, compression), map);
        }
        case 'filelists':
        case 'other': {
          const map = decodePackageMap((await ctx.derivedOf(pinnedRepomd, 'package-map')).bytes);
          const compression = compressionOf(input.path);
          return rewritePkgidsGz(input.bytes, compression, metadataCap(input.bytes, compression), input.path, map);
        }
        case 'repomd':
          return buildRepomd(ctx, input);
        case 'repomd-asc': {
          return (await ctx.sign({ scheme: 'openpgp-detached', object: REPOMD, data: await buildRepomd(ctx, input) })).signature;
        }
        case 'kept-repomd':
          return keptRepomd(repomdOf(input.sha256, input.bytes), input.bytes);
        case 'kept-repomd-asc':
          return (await ctx.sign({ scheme: 'openpgp-detached', object: REPOMD, data: keptRepomd(repomdOf(input.sha256, input.bytes), input.bytes) })).signature;
        default:
          throw new MirrorError('INTERNAL', `rpm has no view "${view}"`, { repository, object: input.path });
      }
    };

    /** A kept package: verified against the package list of the primary that the served repomd.xml lists. */
    const keptPackage = (path: string): Classified => ({
      kind: 'indexed',
      index: pinnedRepomd,
      resolve: (index) => {
        const primary = repomdOf(index.sha256, index.bytes).entries.find((e) => e.type === 'primary')!;
        return { kind: 'object', ...packageRef(path), requires: [packageListRef(primary)] };
      },
    });

    return {
      classify(path): Classified {
        if (path === REPOMD) return { kind: 'view', of: repomdRef, view: keep ? 'kept-repomd' : 'repomd', contentType: XML };
        if (path === `${REPOMD}.asc`) return { kind: 'view', of: pinnedRepomd, view: keep ? 'kept-repomd-asc' : 'repomd-asc', contentType: 'application/pgp-signature' };
        if (path === `${REPOMD}.key`) return { kind: 'generated', contentType: 'application/pgp-keys', generate: () => Buffer.from(publishedKeys()) };
        if (path === '-/setup') return { kind: 'generated', contentType: 'text/plain; charset=utf-8', generate: () => Buffer.from(setupSnippet(repository, repositoryUrl, verify, keep ? 'keep' : 'resign')) };
        if (path.startsWith('repodata/')) return { kind: 'indexed', index: pinnedRepomd, resolve: (index) => resolveMetadata(path, index) };
        if (path.endsWith('.rpm') && safeHref(path)) return keep ? keptPackage(path) : { kind: 'view', of: packageRef(path), view: 'package', contentType: RPM };
        return { kind: 'not-found', reason: `${path} is neither repository metadata nor a package` };
      },

      verify(ctx, object): Promise<VerifyOutcome> {
        return object.path === REPOMD ? verifyRepomd(ctx, object) : verifyListed(ctx, object);
      },

      async derive(ctx, view, input): Promise<Buffer> {
        try {
          return await derive(ctx, view, input);
        } catch (err) {
          if (err instanceof MetadataError || err instanceof RpmFormatError || err instanceof DecompressError) {
            throw new MirrorError('VERIFICATION_FAILED', `Cannot re-sign ${input.path}: ${err.message}`, { repository, object: input.path }, { cause: err });
          }
          throw err;
        }
      },
    };
  },
};

function contentTypeOf(path: string): string {
  if (path.endsWith('.xml')) return XML;
  if (path.endsWith('.gz')) return 'application/gzip';
  if (path.endsWith('.xz')) return 'application/x-xz';
  if (path.endsWith('.zst')) return 'application/zstd';
  if (path.endsWith('.bz2')) return 'application/x-bzip2';
  return 'application/octet-stream';
}
