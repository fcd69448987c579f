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
 * member, so re-signed packages keep matching the `C:` lines and APKINDEX needs no rewrite beyond
 * its own signature. (`S:`, the package size apk uses for progress, keeps the upstream's value.)
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { MirrorError } from '../../errors.js';
import type { Classified, FormatAdapter, FormatRepository, ObjectRef, Revision, VerifyOutcome } from '../types.js';
import { checkApkSignature, sha1Hex, signatureMember } from './apk-signature.js';
import { sha256Hex, splitIndex, splitPackage } from './apk-file.js';
import { parseApkIndex } from './apkindex.js';
import { setupSnippet } from './setup.js';
import { alpineTrustSchema, type AlpineTrust } from './trust.js';

const INDEX = 'APKINDEX.tar.gz';
const GZIP = 'application/gzip';
const APK = 'application/vnd.android.package-archive';
const KEY_FILE = /^[A-Za-z0-9@._+-]{1,128}$/;

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

    return {
      classify(path): Classified {
        const name = path.slice(path.lastIndexOf('/') + 1);
        if (path === '-/setup') {
          // A warn/off repository serves content signed by the unverified key: apk needs that key file too.
          const keyFiles = verify === 'require' ? [orgKeys.rsaPublic('primary').fileName] : [orgKeys.rsaPublic('primary').fileName, orgKeys.rsaPublic('unverified').fileName];
          return { kind: 'generated', contentType: 'text/plain; charset=utf-8', generate: () => Buffer.from(setupSnippet(repository, repositoryUrl, keyFiles, verify)) };
        }
        if (name === INDEX) return { kind: 'view', of: indexRef(path), view: 'index', contentType: GZIP };
        if (name.endsWith('.apk') && !name.startsWith('.')) {
          // The index a client was served is the one that vouches for its packages.
          const index = { ...indexRef(`${dirOf(path)}${INDEX}`), pinned: true };
          return { kind: 'view', of: { path, mutable: false, contentType: APK, requires: [index] }, view: 'package', contentType: APK };
        }
        return { kind: 'not-found', reason: `${path} is neither an APKINDEX.tar.gz nor an .apk package` };
      },

      async verify(ctx, object): Promise<VerifyOutcome> {
        const bytes = await object.readAll();
        if (object.path.endsWith(INDEX)) {
          let parts;
          try {
            parts = splitIndex(bytes);
          } catch (err) {
            return fail(`malformed APKINDEX: ${(err as Error).message}`);
          }
          const sig = checkApkSignature(parts.signatures, parts.signed, keys);
          if (!sig.ok) return fail(`${object.path}: ${sig.reason}`);
          let packages;
          try {
            packages = parseApkIndex(parts.indexText);
          } catch (err) {
            return fail(`${object.path}: ${(err as Error).message}`);
          }
          const dir = dirOf(object.path);
          const revision = indexRevision(parts.indexMtime);
          return {
            ok: true, by: [sig.by], ...(revision ? { revision } : {}),
            vouches: packages.map((p) => ({ path: controlOf(`${dir}${p.fileName}`), algorithm: 'sha1', digest: p.controlSha1 })),
          };
        }
        const vouched = ctx.expectations(controlOf(object.path));
        if (vouched.length === 0) return fail(`${object.path} is not listed in a verified ${INDEX}`);
        let parts;
        try {
          parts = splitPackage(bytes);
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
          const parts = view === 'index' ? splitIndex(input.bytes) : view === 'package' ? splitPackage(input.bytes) : undefined;
          if (!parts) throw new MirrorError('INTERNAL', `alpine has no view "${view}"`, { repository, object: input.path });
          const { keyFileName, signature } = await ctx.sign({ scheme: 'rsa-sha256', object: input.path, data: parts.signed });
          return Buffer.concat([signatureMember(keyFileName!, signature), parts.rest]);
        } catch (err) {
          if (err instanceof MirrorError) throw err;
          throw new MirrorError('VERIFICATION_FAILED', `Cannot re-sign ${input.path}: ${(err as Error).message}`, { repository, object: input.path }, { cause: err });
        }
      },
    };
  },
};
