/**
 * Alpine apk repositories: `<branch>/<repo>/<arch>/APKINDEX.tar.gz` and the `.apk` packages beside it.
 *
 * Upstream trust: the index and each package carry `.SIGN.RSA*.<key name>` signatures that must
 * verify with a key of that file name in `trust.keys` (as /etc/apk/keys); each package's identity
 * (SHA-1 of its control member, or control + data without datahash) must equal its `C:` in the
 * verified index, and its data must hash to the datahash its control member declares.
 *
 * Served: the upstream signature member is replaced by one `.SIGN.RSA256.<org key file name>`
 * over the same bytes; the rest stays byte-identical. The package identity excludes the signature
 * member, so re-signed packages keep matching the `C:` lines. Their size changes, and apk-tools 3
 * matches cached package files to index entries by name and `S:` (a cache filled through the
 * mirror is otherwise "masked in: --no-network"), so the served APKINDEX states the served sizes.
 * They cannot be computed from the index alone: the upstream signature member's compressed size
 * varies with the signature bytes (RSA-4096: 662–670 bytes over 300 signatures of one key), and is
 * only known from the package. So, as RPM metadata, the served index is a view over the re-signed
 * packages: an index revision is committed with every package it lists verified (companions), and
 * its `S:` lines are rewritten to the derived packages' sizes before the index is re-signed.
 */
import { mapLimit } from '../map-limit.js';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { MirrorError } from '../../errors.js';
import type { Classified, DeriveContext, FormatAdapter, FormatRepository, ObjectRef, Revision, VerifyOutcome } from '../types.js';
import { checkApkSignature, sha1Hex, signatureMember } from './apk-signature.js';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { MAX_INDEX_MEMBER, readIndexMember, sha256Hex, splitPackage, splitSigned } from './apk-file.js';
import { parseApkIndex, rewriteSizes } from './apkindex.js';
import { GzipTooLargeError } from './gzip-members.js';
import { replaceTarEntry } from './tar.js';
import { setupSnippet } from './setup.js';
import { alpineTrustSchema, type AlpineTrust } from './trust.js';

const INDEX = 'APKINDEX.tar.gz';
const GZIP = 'application/gzip';
const APK = 'application/vnd.android.package-archive';
const KEY_FILE = /^[A-Za-z0-9@._+-]{1,128}$/;
/** Re-signed packages derived at once while an index view is made (each is held in memory). */
const PACKAGE_CONCURRENCY = 4;
const gzipAsync = promisify(gzip);

/** Where the identity a verified index vouches for a package is recorded: a part, not the whole file. */
const controlOf = (path: string) => `${path}#control`;

/**
 * The revision of an APKINDEX.tar.gz, for the core's rollback check: the mtime of its APKINDEX tar
 * entry. `apk index` stamps it (and DESCRIPTION's) with the build time (apk-tools src/app_index.c:
 * `fi.mtime = apk_get_build_time()`, SOURCE_DATE_EPOCH or now), and the signature covers the
 * compressed index member, tar headers included, so it cannot be changed without re-signing.
 * DESCRIPTION is free text (`v3.20.3-123-g…`), not an ordering; the outer gzip header's time is
 * outside what is signed. An mtime of 0 (a reproducible build pinned to the epoch) orders nothing.
 */
function indexRevision(mtime: number): Revision | undefined {
  if (mtime <= 0) return undefined;
  return { value: mtime * 1000, label: `APKINDEX built ${new Date(mtime * 1000).toISOString()}` };
}

export const alpineFormat: FormatAdapter<AlpineTrust> = {
  name: 'alpine',
  trustSchema: alpineTrustSchema,

  async open({ repository, trust, verify, keys: orgKeys, readTrustFile, listTrustDir, repositoryUrl }): Promise<FormatRepository> {
    if (verify === 'require' && !trust.keys) {
      throw new MirrorError('CONFIG_INVALID', `Repository "${repository}" has verify: require but no trust.keys directory to verify signatures with`, { repository });
    }
    const keys = new Map<string, KeyObject>();
    if (trust.keys) {
      for (const name of await listTrustDir(trust.keys)) {
        if (!KEY_FILE.test(name) || name.startsWith('.')) continue;
        try {
          keys.set(name, createPublicKey(await readTrustFile(`${trust.keys}/${name}`)));
        } catch (err) {
          throw new MirrorError('CONFIG_INVALID', `Repository "${repository}": ${trust.keys}/${name} is not a PEM public key: ${(err as Error).message}`, { repository });
        }
      }
      if (keys.size === 0) throw new MirrorError('CONFIG_INVALID', `Repository "${repository}": trust.keys ${trust.keys} holds no public key`, { repository });
    }
    const fail = (reason: string): VerifyOutcome => ({ ok: false, code: 'VERIFICATION_FAILED', reason });
    const indexRef = (path: string): ObjectRef => ({ path, mutable: true, contentType: GZIP });
    const dirOf = (path: string) => path.slice(0, path.lastIndexOf('/') + 1);
    // The index a client was served is the one that vouches for its packages.
    const packageRef = (path: string): ObjectRef => ({ path, mutable: false, contentType: APK, requires: [{ ...indexRef(`${dirOf(path)}${INDEX}`), pinned: true }] });
    /** The index member, inflated (capped) only after its signature was checked or not asked for. */
    const indexContent = async (path: string, rest: Buffer) => {
      try {
        return await readIndexMember(rest);
      } catch (err) {
        if (err instanceof GzipTooLargeError) {
          throw new MirrorError('UPSTREAM_TOO_LARGE', `Refused ${path}: its index member inflates to more than ${MAX_INDEX_MEMBER} bytes`, { repository, object: path }, { cause: err });
        }
        throw err;
      }
    };

    return {
      classify(path): Classified {
        const name = path.slice(path.lastIndexOf('/') + 1);
        if (path === '-/setup') {
          // A warn/off repository serves content signed by the unverified key: apk needs that key file too.
          const keyFiles = verify === 'require' ? [orgKeys.rsaPublic('primary').fileName] : [orgKeys.rsaPublic('primary').fileName, orgKeys.rsaPublic('unverified').fileName];
          return { kind: 'generated', contentType: 'text/plain; charset=utf-8', generate: () => Buffer.from(setupSnippet(repository, repositoryUrl, keyFiles, verify)) };
        }
        if (name === INDEX) return { kind: 'view', of: indexRef(path), view: 'index', contentType: GZIP };
        if (name.endsWith('.apk') && !name.startsWith('.')) return { kind: 'view', of: packageRef(path), view: 'package', contentType: APK };
        return { kind: 'not-found', reason: `${path} is neither an APKINDEX.tar.gz nor an .apk package` };
      },

      async verify(ctx, object): Promise<VerifyOutcome> {
        const bytes = await object.readAll();
        if (object.path.endsWith(INDEX)) {
          // Signature first, over the compressed bytes it covers: only the small (capped) signature member is inflated before it.
          let signed;
          try {
            signed = await splitSigned(bytes);
          } catch (err) {
            return fail(`malformed APKINDEX: ${(err as Error).message}`);
          }
          const sig = checkApkSignature(signed.signatures, signed.rest, keys);
          if (!sig.ok) return fail(`${object.path}: ${sig.reason}`);
          let packages;
          let indexMtime;
          try {
            const content = await indexContent(object.path, signed.rest);
            indexMtime = content.indexMtime;
            packages = parseApkIndex(content.indexText);
          } catch (err) {
            if (err instanceof MirrorError) throw err;
            return fail(`${object.path}: ${(err as Error).message}`);
          }
          const dir = dirOf(object.path);
          const revision = indexRevision(indexMtime);
          return {
            ok: true, by: [sig.by], ...(revision ? { revision } : {}),
            vouches: packages.map((p) => ({ path: controlOf(`${dir}${p.fileName}`), algorithm: 'sha1', digest: p.controlSha1 })),
            // The served index states the re-signed packages' sizes: a revision is taken only with all of them
            // verified. Without `requires`: this index, not yet committed, is what vouches for them.
            companions: packages.map((p) => ({ path: `${dir}${p.fileName}`, mutable: false, contentType: APK })),
          };
        }
        const vouched = ctx.expectations(controlOf(object.path));
        if (vouched.length === 0) return fail(`${object.path} is not listed in a verified ${INDEX}`);
        let parts;
        try {
          parts = await splitPackage(bytes);
        } catch (err) {
          return fail(`malformed package: ${(err as Error).message}`);
        }
        const identity = sha1Hex(parts.signed);
        const wrong = vouched.find((e) => e.digest.toLowerCase() !== identity);
        if (wrong) return fail(`${object.path}: the control checksum ${identity} does not match ${wrong.digest} (C: in ${wrong.source})`);
        if (parts.datahash && sha256Hex(parts.data) !== parts.datahash) return fail(`${object.path}: the data does not match the datahash in .PKGINFO`);
        const sig = checkApkSignature(parts.signatures, parts.signed, keys);
        if (!sig.ok) return fail(`${object.path}: ${sig.reason}`);
        return { ok: true, by: [sig.by, ...vouched.map((e) => `identity:sha1@${e.source}`)] };
      },

      async derive(ctx, view, input): Promise<Buffer> {
        try {
          // What follows the signature member, and the part of it the signature covers (apk-file.ts).
          let parts: { rest: Buffer; signed: Buffer };
          if (view === 'package') {
            parts = await splitPackage(input.bytes);
          } else if (view === 'index') {
            const member = await servedIndexMember(ctx, input.path, (await splitSigned(input.bytes)).rest);
            parts = { rest: member, signed: member };
          } else {
            throw new MirrorError('INTERNAL', `alpine has no view "${view}"`, { repository, object: input.path });
          }
          const { keyFileName, signature } = await ctx.sign({ scheme: 'rsa-sha256', object: input.path, data: parts.signed });
          return Buffer.concat([signatureMember(keyFileName!, signature), parts.rest]);
        } catch (err) {
          if (err instanceof MirrorError) throw err;
          throw new MirrorError('VERIFICATION_FAILED', `Cannot re-sign ${input.path}: ${(err as Error).message}`, { repository, object: input.path }, { cause: err });
        }
      },
    };

    /**
     * The index member clients get: the upstream's, with each `S:` the size of the package the
     * mirror serves (derived, re-signed). When no size changes the upstream member is kept as it
     * came; otherwise the APKINDEX tar entry is replaced (other entries, mtimes kept) and the tar is
     * compressed again, as `apk index` does (one gzip member).
     */
    async function servedIndexMember(ctx: DeriveContext, path: string, rest: Buffer): Promise<Buffer> {
      const content = await indexContent(path, rest);
      const dir = dirOf(path);
      const packages = parseApkIndex(content.indexText);
      const sizes = new Map<string, number>();
      await mapLimit(packages, PACKAGE_CONCURRENCY, async (p) => {
        sizes.set(p.fileName, (await ctx.derivedOf(packageRef(`${dir}${p.fileName}`), 'package')).bytes.length);
      });
      const text = rewriteSizes(content.indexText, (fileName) => sizes.get(fileName)!);
      if (text === content.indexText) return rest;
      return gzipAsync(replaceTarEntry(content.tar, 'APKINDEX', Buffer.from(text, 'utf8')), { level: 9 });
    }
  },
};
