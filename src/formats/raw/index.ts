/**
 * Raw: any file under the upstream base URL, served with a detached OpenPGP signature made
 * by the mirror (`<path>.asc`). Upstream trust is a keyring (`<path>.asc` upstream) and/or
 * checksum files (`<path>.sha256` upstream). A checksum file comes from the same upstream as
 * the bytes, so it anchors nothing by itself: under `require` it needs the keyring, or
 * `anchor: first-use`, which pins each file's first checksum and refuses a change.
 * The upstream's Content-Type is not trusted: see content-type.ts.
 */
import { MirrorError } from '../../errors.js';
import { loadOpenPgpKeyring, verifyDetached, type OpenPgpKeyring } from '../../trust/openpgp-trust.js';
import type { FormatAdapter, FormatRepository, VerifyOutcome } from '../types.js';
import { encodePath } from '../encode-path.js';
import { rawContentType } from './content-type.js';
import { parseSha256File } from './sha256-file.js';
import { rawTrustSchema, type RawTrust } from './trust.js';

const MAX_SIGNATURE_BYTES = 64 * 1024;
const MAX_CHECKSUM_BYTES = 64 * 1024;

export const rawFormat: FormatAdapter<RawTrust> = {
  name: 'raw',
  trustSchema: rawTrustSchema,
  async open({ repository, trust, verify, anchor, readTrustFile }): Promise<FormatRepository> {
    if (verify === 'require' && !trust.keyring && !(trust.checksums && anchor === 'first-use')) {
      throw new MirrorError(
        'CONFIG_INVALID',
        `Repository "${repository}" has verify: require but nothing the operator pinned to verify with: set trust.keyring (the upstream's OpenPGP keys), `
          + 'or trust.checksums with anchor: first-use (each file\'s first checksum is pinned), or verify: warn',
        { repository },
      );
    }
    const keyring: OpenPgpKeyring | undefined = trust.keyring
      ? await loadOpenPgpKeyring(await readTrustFile(trust.keyring), trust.keyring)
      : undefined;
    return {
      classify(path) {
        if (path === '' || path.endsWith('/')) return { kind: 'not-found', reason: 'directory listings are not served' };
        if (path.endsWith('.asc')) {
          return { kind: 'signature', scheme: 'openpgp-detached', of: path.slice(0, -4), contentType: 'application/pgp-signature' };
        }
        return { kind: 'object', path, mutable: true };
      },

      async verify(ctx, object): Promise<VerifyOutcome> {
        const by: string[] = [];
        const vouches = [];
        if (!keyring && !trust.checksums) {
          return { ok: false, code: 'VERIFICATION_FAILED', reason: `repository ${repository} has no upstream trust configured (trust.keyring or trust.checksums)` };
        }
        if (trust.checksums === 'sha256') {
          const aux = await ctx.fetchAuxiliary(`${encodePath(object.path)}.sha256`, MAX_CHECKSUM_BYTES);
          if (aux.kind === 'absent') return { ok: false, code: 'VERIFICATION_FAILED', reason: `the upstream has no ${object.path}.sha256` };
          const name = object.path.slice(object.path.lastIndexOf('/') + 1);
          const sha256 = parseSha256File(aux.bytes.toString('utf8'), name);
          if (!sha256) return { ok: false, code: 'VERIFICATION_FAILED', reason: `${object.path}.sha256 holds no SHA-256 for ${name}` };
          vouches.push({ path: object.path, algorithm: 'sha256' as const, digest: sha256 });
          by.push(`sha256-file:${object.path}.sha256`);
          if (!keyring && ctx.anchor === 'first-use') {
            const pinned = ctx.firstUse(`sha256:${object.path}`, Buffer.from(sha256, 'utf8'));
            if (!pinned.ok) return { ok: false, code: 'TRUST_CHANGED', reason: pinned.reason, vouches };
            return { ok: true, by, vouches, anchor: 'first-use' };
          }
        }
        if (keyring) {
          const aux = await ctx.fetchAuxiliary(`${encodePath(object.path)}.asc`, MAX_SIGNATURE_BYTES);
          if (aux.kind === 'absent') return { ok: false, code: 'VERIFICATION_FAILED', reason: `the upstream has no signature ${object.path}.asc`, vouches };
          const result = await verifyDetached(keyring, aux.bytes, object.read());
          if (!result.ok) return { ok: false, code: 'VERIFICATION_FAILED', reason: `${object.path}.asc does not verify: ${result.reason}`, vouches };
          by.push(`openpgp:${result.fingerprint}`);
        }
        // A checksum fetched beside the file is no anchor: only the keyring is the operator's.
        return { ok: true, by, vouches, anchor: keyring ? 'pinned' : 'none' };
      },

      // Applied at every serve, so entries cached with the upstream's type before this rule are covered too.
      responseHeaders(_path, served) {
        return { 'content-type': rawContentType(served.contentType) };
      },
    };
  },
};
