/**
 * Debian / apt archives: `dists/<suite>/{InRelease,Release,Release.gpg}`, every index file a
 * suite's Release lists (plain and by-hash names), and package files (`pool/`).
 *
 * Trust chain: the upstream InRelease (or Release + Release.gpg) verifies with `trust.keyring`
 * → it vouches for every index file's SHA-256/SHA-512 → each verified Packages/Sources vouches
 * for the package files it lists. Served: the same Release text, signed by the org OpenPGP key
 * (InRelease clearsigned, Release.gpg armored), index and package files byte-identical.
 * Consistency: see ./generation.ts. Client setup: `/<repo>/-/setup`.
 */
import { parseDuration } from '../../config/duration.js';
import { MirrorError } from '../../errors.js';
import type { OpenPgpKeyring } from '../../trust/openpgp-trust.js';
import type { Classified, FormatAdapter, FormatRepository, IndexedInput, VerifyOutcome } from '../types.js';
import { aptConfiguredArchive } from './auto-upstream.js';
import { clientSetup } from './client-setup.js';
import { compressedSibling, findByHash, generationRef, Generations, indexRef, INDEX_CONTENT_TYPE, RELEASE_CONTENT_TYPE, type Generation } from './generation.js';
import { decompressToListed } from './decompress.js';
import type { ReleaseEntry } from './release-file.js';
import { isGenerationPath, parseDebianPath, upstreamPath } from './paths.js';
import { loadKeyrings } from './release-signature.js';
import { servedReleaseText } from './served-release.js';
import { packageListVouch, POOL_REQUIRES, readsListLazily } from './package-lists.js';
import { debianTrustSchema, type DebianTrust } from './trust.js';
import { verifyArchiveFile } from './verify-files.js';
import { verifyGeneration } from './verify-release.js';

export const debianFormat: FormatAdapter<DebianTrust> = {
  name: 'debian',
  trustSchema: debianTrustSchema,
  resolveAutoUpstream: aptConfiguredArchive,

  async open({ repository, trust, verify, repositoryUrl, keys, readTrustFile, now }): Promise<FormatRepository> {
    const files = trust.keyring === undefined ? [] : Array.isArray(trust.keyring) ? trust.keyring : [trust.keyring];
    if (verify === 'require' && files.length === 0) {
      throw new MirrorError('CONFIG_INVALID', `Repository "${repository}" has verify: require but no trust.keyring to verify the upstream Release with`, { repository });
    }
    const keyring: OpenPgpKeyring | undefined = files.length > 0
      ? await loadKeyrings(await Promise.all(files.map(async (name) => ({ name, bytes: await readTrustFile(name) }))))
      : undefined;
    // The served Release is a function of the upstream bytes and this (see served-release.ts):
    // nothing the mirror does later moves its Valid-Until, so one view per generation is enough.
    const validForMs = trust.validFor === undefined ? undefined : parseDuration(trust.validFor);
    const generations = new Generations();

    const generation = (suite: string, input: IndexedInput) => generations.get(suite, input.sha256, input.bytes);
    const serveEntry = (g: Generation, entry: ReleaseEntry, input: IndexedInput): Classified => {
      const sibling = compressedSibling(g, entry);
      if (!sibling) return { kind: 'object', ...indexRef(g, entry) };
      const { algorithm, digest } = entry.strongest;
      return { kind: 'view', of: indexRef(g, sibling), view: `decompressed:${algorithm}:${digest}:${entry.size}`, contentType: INDEX_CONTENT_TYPE };
    };

    return {
      classify(path): Classified {
        const p = parseDebianPath(path);
        switch (p.kind) {
          case 'setup':
            return {
              kind: 'generated',
              contentType: 'text/plain; charset=utf-8',
              // Made per request from the key list, so a rotation shows at once.
              generate: () => Buffer.from(clientSetup({
                repository, repositoryUrl, mode: verify, keys: keys.list(),
                ...(trust.suites ? { suites: trust.suites } : {}), ...(trust.components ? { components: trust.components } : {}),
              })),
            };
          case 'release':
            if (p.file === 'InRelease') return { kind: 'view', of: generationRef(p.suite), view: 'inrelease', contentType: RELEASE_CONTENT_TYPE };
            if (p.file === 'Release') return { kind: 'view', of: generationRef(p.suite), view: 'release', contentType: RELEASE_CONTENT_TYPE };
            // Fetched right after Release: it must sign the Release just served, so no revalidation.
            return { kind: 'view', of: generationRef(p.suite, true), view: 'release-gpg', contentType: 'application/pgp-signature' };
          case 'index':
            return {
              kind: 'indexed',
              index: generationRef(p.suite, true),
              resolve: (input) => {
                const g = generation(p.suite, input);
                const entry = g.release.entries.get(p.name);
                if (entry) return serveEntry(g, entry, input);
                // pdiff patches are listed in their verified Packages.diff/Index, not in the Release.
                if (input.expectations(path).length > 0) return { kind: 'object', path, mutable: false, contentType: INDEX_CONTENT_TYPE };
                return { kind: 'not-found', reason: `${p.name} is not listed in the Release of ${p.suite}` };
              },
            };
          case 'by-hash':
            return {
              kind: 'indexed',
              index: generationRef(p.suite, true),
              resolve: (input) => {
                const g = generation(p.suite, input);
                const entry = findByHash(g, p.dir, p.type, p.digest);
                if (entry) return serveEntry(g, entry, input);
                // A file of an earlier generation: only the upstream's by-hash copy can still be it.
                if (input.expectations(path).length > 0) return { kind: 'object', path, mutable: false, contentType: INDEX_CONTENT_TYPE, upstreamPath: upstreamPath(path) };
                return { kind: 'not-found', reason: `no Release of ${p.suite} this mirror verified lists ${p.type} ${p.digest}` };
              },
            };
          case 'package': {
            // Package lists are fetched (and parsed) only while nothing vouches for this file yet: see package-lists.ts.
            return {
              kind: 'object', path: p.path, mutable: false, contentType: p.path.endsWith('.deb') || p.path.endsWith('.udeb') ? 'application/vnd.debian.binary-package' : 'application/octet-stream',
              requiresVouched: POOL_REQUIRES,
            };
          }
          case 'invalid':
            return { kind: 'not-found', reason: p.reason };
        }
      },

      async verify(ctx, object): Promise<VerifyOutcome> {
        if (isGenerationPath(object.path)) {
          if (!keyring) return { ok: false, code: 'VERIFICATION_FAILED', reason: `repository ${repository} has no trust.keyring to verify ${object.path} with` };
          return verifyGeneration({
            ctx, object, suite: object.path.split('/')[1]!, keyring, generations, now: now(),
            ...(validForMs === undefined ? {} : { validForMs }),
          });
        }
        return verifyArchiveFile(ctx, object, (storePath) => {
          const found = generations.findStored(storePath.split('/')[1]!, storePath);
          if (!found || !readsListLazily(found.generation, found.entry)) return undefined;
          return packageListVouch(found.generation, found.entry);
        });
      },

      async derive(ctx, view, input): Promise<Buffer> {
        if (view.startsWith('decompressed:')) {
          const [, algorithm, digest, size] = view.split(':');
          try {
            return await decompressToListed(input.bytes, { algorithm: algorithm === 'sha512' ? 'sha512' : 'sha256', digest: digest ?? '', size: Number(size) });
          } catch (err) {
            throw new MirrorError('DIGEST_MISMATCH', `Refused the uncompressed form of ${input.path}: ${(err as Error).message}`, { repository, object: input.path });
          }
        }
        const suite = input.path.split('/')[1]!;
        const g = generations.get(suite, input.sha256, input.bytes);
        const text = servedReleaseText(g.release, { verifiedAt: input.verification.at, ...(validForMs === undefined ? {} : { validForMs }) });
        switch (view) {
          case 'inrelease':
            return (await ctx.sign({ scheme: 'openpgp-cleartext', object: `dists/${suite}/InRelease`, data: text })).signature;
          case 'release':
            return Buffer.from(`${text}\n`, 'utf8');
          case 'release-gpg':
            return (await ctx.sign({ scheme: 'openpgp-detached', object: `dists/${suite}/Release.gpg`, data: `${text}\n` })).signature;
          default:
            throw new MirrorError('INTERNAL', `debian has no view "${view}"`, { repository, object: input.path });
        }
      },
    };
  },
};
