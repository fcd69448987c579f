/**
 * Maven / Gradle / sbt (`format: maven`): the Maven 2 and sbt-plugin Ivy layouts (paths.ts).
 * Files are verified on ingest (verify-file.ts) and served as they came; the mirror makes their
 * checksum sidecars from the bytes it serves (so a client never sees a stale one) and the org's
 * detached signature of every file, version lists included. How the author's signature and the
 * org's are offered is `trust.signatures` (trust.ts).
 */
import { isMirrorError, MirrorError } from '../../errors.js';
import { createHash } from 'node:crypto';
import type { Classified, FormatAdapter, FormatRepository, ObjectRef, VerifyOutcome } from '../types.js';
import { checksumFileText } from './checksum-file.js';
import { combineSignatures } from './combined-signature.js';
import { GroupKeyrings } from './keyrings.js';
import { parseMavenPath, type RepositoryFile } from './paths.js';
import { setupText } from './setup.js';
import { mavenTrustSchema, type MavenTrust } from './trust.js';
import { verifyRepositoryFile } from './verify-file.js';

const SIGNATURE_TYPE = 'application/pgp-signature';
const AS_IS = 'as-is';
const COMBINED = 'combined-signature';

export const mavenFormat: FormatAdapter<MavenTrust> = {
  name: 'maven',
  trustSchema: mavenTrustSchema,
  async open({ repository, trust, verify, repositoryUrl, keys, readTrustFile }): Promise<FormatRepository> {
    const keyrings = await GroupKeyrings.load(trust, readTrustFile);
    if (verify === 'require' && keyrings.empty) {
      throw new MirrorError(
        'CONFIG_INVALID',
        `Repository "${repository}" has verify: require but no authors' keys to verify with: set trust.keyring or trust.keyrings (checksums beside a file come from the same upstream and anchor nothing), or verify: warn`,
        { repository },
      );
    }
    // Read at each request: a rotation changes it without a restart.
    const orgFingerprint = (): string | undefined => keys.list().find((k) => k.kind === 'openpgp' && k.role === 'primary' && k.status === 'active')?.id;

    const fileRef = (file: RepositoryFile): ObjectRef => ({ path: file.path, mutable: file.mutable, contentType: file.contentType });
    // The author's signature as served beside the file: the digest the file's verification recorded.
    const authorSignatureRef = (file: RepositoryFile): ObjectRef => ({
      path: `${file.path}.asc`, mutable: false, contentType: SIGNATURE_TYPE, requires: [fileRef(file)],
    });

    return {
      classify(path): Classified {
        if (path === '-/setup') {
          return { kind: 'generated', contentType: 'text/plain; charset=utf-8', generate: () => Buffer.from(setupText(repository, repositoryUrl, verify, trust, orgFingerprint())) };
        }
        const parsed = parseMavenPath(path, trust.orgSignatureSuffix);
        switch (parsed.kind) {
          case 'invalid':
            return { kind: 'not-found', reason: parsed.reason };
          case 'file':
            return { kind: 'object', ...fileRef(parsed.file) };
          case 'checksum':
            return { kind: 'view', of: fileRef(parsed.of), view: parsed.algorithm, contentType: 'text/plain' };
          case 'org-signature':
            return { kind: 'signature', scheme: 'openpgp-detached', of: parsed.of.path, contentType: SIGNATURE_TYPE };
          case 'signature':
            // Version lists have no author signature clients know of: `.asc` is the org's.
            if (parsed.of.kind === 'metadata') return { kind: 'signature', scheme: 'openpgp-detached', of: parsed.of.path, contentType: SIGNATURE_TYPE };
            if (trust.signatures === 'combined') return { kind: 'view', of: fileRef(parsed.of), view: COMBINED, contentType: SIGNATURE_TYPE };
            return { kind: 'object', ...authorSignatureRef(parsed.of) };
          default:
            return parsed satisfies never;
        }
      },

      async verify(ctx, object): Promise<VerifyOutcome> {
        const parsed = parseMavenPath(object.path, trust.orgSignatureSuffix);
        if (parsed.kind === 'file') return verifyRepositoryFile(ctx, object, parsed.file, trust, keyrings);
        if (parsed.kind === 'signature') {
          // Served only as the signature that verified its file (the core checked the digest already).
          const vouched = ctx.expectations(object.path).filter((e) => e.source === parsed.of.path);
          if (vouched.length > 0) return { ok: true, by: [`expectation:${parsed.of.path}`] };
          return { ok: false, code: 'VERIFICATION_FAILED', reason: `${object.path} is not the author's signature that verified ${parsed.of.path}` };
        }
        return { ok: false, code: 'MALFORMED', reason: `${object.path} is not an upstream file` };
      },

      async derive(ctx, view, input): Promise<Buffer> {
        if (view === AS_IS) return input.bytes;
        if (view === COMBINED) {
          const parsed = parseMavenPath(input.path, trust.orgSignatureSuffix);
          if (parsed.kind !== 'file') throw new MirrorError('INTERNAL', `${input.path} has no author signature`, { repository, object: input.path });
          let author: Buffer | undefined;
          try {
            author = (await ctx.derivedOf(authorSignatureRef(parsed.file), AS_IS)).bytes;
          } catch (err) {
            // No author signature upstream (possible under warn/off): the org's alone.
            if (!(isMirrorError(err) && err.code === 'UPSTREAM_NOT_FOUND')) throw err;
          }
          // Signed after the author's signature is read, so an unverified one makes this the unverified key's at once.
          const org = await ctx.sign({ scheme: 'openpgp-detached', object: input.path, data: input.bytes });
          return author ? combineSignatures(author, org.signature) : org.signature;
        }
        if (view === 'md5' || view === 'sha1' || view === 'sha256' || view === 'sha512') {
          return checksumFileText(createHash(view).update(input.bytes).digest('hex'));
        }
        throw new MirrorError('INTERNAL', `Unknown view ${view}`, { repository, object: input.path });
      },
    };
  },
};
