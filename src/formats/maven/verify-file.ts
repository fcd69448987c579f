/**
 * Verification of one upstream file: its checksum sidecars (integrity: they come from the same
 * upstream, so they anchor nothing), then its author's `<file>.asc` against the keyring the
 * operator pinned for its group (the anchor). Version lists have no author signature on most
 * repositories (Central signs none): without one they verify by checksum only, with no anchor, so
 * they are served under `require` but the primary org key never signs them.
 */
import { createHash } from 'node:crypto';
import { verifyDetached } from '../../trust/openpgp-trust.js';
import { encodePath } from '../encode-path.js';
import type { UpstreamObject, VerifyContext, VerifyOutcome, VouchedDigest } from '../types.js';
import { parseChecksumFile } from './checksum-file.js';
import type { GroupKeyrings } from './keyrings.js';
import { MAX_METADATA_BYTES, MetadataError, parseMavenMetadata } from './metadata.js';
import type { RepositoryFile } from './paths.js';
import type { MavenTrust } from './trust.js';

const MAX_SIGNATURE_BYTES = 64 * 1024;
const MAX_SIDECAR_BYTES = 4096;

export async function verifyRepositoryFile(
  ctx: VerifyContext, object: UpstreamObject, file: RepositoryFile, trust: MavenTrust, keyrings: GroupKeyrings,
): Promise<VerifyOutcome> {
  const checked = await checkSidecars(ctx, object.path, trust);
  if ('reason' in checked) return { ok: false, code: 'VERIFICATION_FAILED', reason: checked.reason, vouches: checked.vouches };
  const { vouches, by } = checked;

  let revision: { value: number; label: string } | undefined;
  if (file.kind === 'metadata') {
    // Refused before it is read into memory: a version list is small.
    if (object.size > MAX_METADATA_BYTES) return { ok: false, code: 'MALFORMED', reason: `${object.path} is ${object.size} bytes, more than a version list may be (${MAX_METADATA_BYTES})`, vouches };
    try {
      const metadata = parseMavenMetadata(await object.readAll());
      if (metadata.lastUpdated !== undefined) revision = { value: metadata.lastUpdated, label: `lastUpdated ${metadata.lastUpdatedText}` };
    } catch (err) {
      if (err instanceof MetadataError) return { ok: false, code: 'MALFORMED', reason: `${object.path} is not a maven-metadata.xml: ${err.message}`, vouches };
      throw err;
    }
  }
  const withRevision = revision ? { revision } : {};

  const pinned = keyrings.forGroup(file.group);
  const asc = pinned ? await ctx.fetchAuxiliary(`${encodePath(object.path)}.asc`, MAX_SIGNATURE_BYTES) : undefined;
  if (!pinned || !asc || asc.kind === 'absent') {
    if (file.kind === 'metadata' && trust.metadataSignatures === 'ifPresent') return { ok: true, by, vouches, anchor: 'none', ...withRevision };
    const why = pinned ? `the upstream has no signature ${object.path}.asc` : `no keyring is pinned for group ${file.group} (trust.keyring or trust.keyrings)`;
    return { ok: false, code: 'VERIFICATION_FAILED', reason: why, vouches };
  }
  const result = await verifyDetached(pinned.keyring, asc.bytes, object.read());
  if (!result.ok) {
    return { ok: false, code: 'VERIFICATION_FAILED', reason: `${object.path}.asc does not verify with ${pinned.source} (group ${file.group}): ${result.reason}`, vouches };
  }
  // The author's signature that verified is the one served beside the file (signatures: beside).
  vouches.push({ path: `${object.path}.asc`, algorithm: 'sha256', digest: createHash('sha256').update(asc.bytes).digest('hex'), size: asc.bytes.byteLength });
  return { ok: true, by: [...by, `openpgp:${result.fingerprint}`], vouches, anchor: 'pinned', ...withRevision };
}

/**
 * Fetches the sidecars `trust.checksums` names: the first is required, the rest checked when
 * present. Each becomes a vouch for the file itself, which the core checks against the bytes in
 * every mode (a mismatch is refused under `warn` too).
 */
async function checkSidecars(
  ctx: VerifyContext, path: string, trust: MavenTrust,
): Promise<{ vouches: VouchedDigest[]; by: string[] } | { reason: string; vouches: VouchedDigest[] }> {
  const vouches: VouchedDigest[] = [];
  const by: string[] = [];
  for (const [i, algorithm] of trust.checksums.entries()) {
    const aux = await ctx.fetchAuxiliary(`${encodePath(path)}.${algorithm}`, MAX_SIDECAR_BYTES);
    if (aux.kind === 'absent') {
      if (i === 0) return { reason: `the upstream has no checksum ${path}.${algorithm}`, vouches };
      continue;
    }
    const digest = parseChecksumFile(aux.bytes, algorithm);
    if (!digest) return { reason: `${path}.${algorithm} holds no ${algorithm} checksum`, vouches };
    vouches.push({ path, algorithm, digest });
    by.push(`checksum:${algorithm}`);
  }
  return { vouches, by };
}
