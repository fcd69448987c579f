/**
 * The upstream's own cosign key-pair signatures (`trust.cosignKeys`), checked as `cosign verify
 * --key` checks them (../shared/specs/formats-pki.md §1.2–1.5): the manifest at the upstream's tag
 * `sha256-<hex>.sig`, each simple-signing layer's payload blob against its descriptor, the
 * signature annotation over the payload bytes with one of the keys, and the payload's claims
 * (type, docker-manifest-digest). The identity (docker-reference) is recorded, not matched:
 * cosign does not match it either.
 *
 * A manifest is accepted when it is signed itself or when an index verified under these rules
 * names it as a child (a signed index vouches for its children: cosign signs children only with
 * `--recursive`). The upstream signature manifest itself is signature material, kept under its own
 * store path (oci-path.ts signatureStorePath): the manifest it signs vouches for its bytes, never
 * for it as an image, so it is not a manifest the mirror would serve or cosign. Blobs stay
 * digest-checked only.
 *
 * Tags have no revision number of their own. When the verified simple-signing payloads carry the
 * `optional.timestamp` containers/image writes (seconds since the epoch; also accepted as a
 * decimal string, as `cosign sign -a timestamp=<s>` writes it), the newest one signed by a pinned
 * key is the tag's revision, so the core refuses a tag moved back to a manifest whose newest
 * signature is older than the one served (rollback); re-signing the older manifest makes a
 * deliberate move back acceptable. A manifest without a signed timestamp has revision 0: once a
 * tag was served with a signed timestamp, an untimestamped answer is refused as a rollback.
 */
import { isMirrorError } from '../../errors.js';
import type { ObjectRef, Revision, VerificationRecord, VerifyContext, VerifyOutcome, VouchedDigest } from '../types.js';
import { verifyingKey, type CosignKey } from './cosign-keys.js';
import { sha256, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_TYPE, type UpstreamSignatureLayer } from './cosign-signature.js';
import { MAX_MANIFEST_BYTES, parseManifest } from './manifest.js';
import { DOCKER_MANIFEST, OCI_MANIFEST } from './media-types.js';
import { parseOciPath } from './oci-path.js';

const COSIGN_TYPE = 'cosign container image signature';
const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** cosign appends a layer per signature; past this many the rest are not fetched (deterministically the first ones count). */
const MAX_CHECKED_LAYERS = 64;

export interface ManifestUnderCheck {
  /** The store path being verified (tag or digest). */
  path: string;
  /** Hex digest of the manifest bytes: what the signatures must name. */
  sha256: string;
  /** The image name in the upstream's namespace (for `v2/<name>/…` URLs). */
  upstreamName: string;
  /** Vouches of the manifest itself and its blobs: kept whatever the signature says (a digest check beats none under warn). */
  base: VouchedDigest[];
  /** Vouches for child manifests: given only when this manifest verifies, since they pass its trust on. */
  children: VouchedDigest[];
  /** Manifests by digest are the objects signature views are made of: their signature is stored with them. */
  keepSignature: boolean;
  /** A tag: its revision is the newest signed timestamp (see the top of this file). */
  isTag: boolean;
}

export interface RefMaker {
  /** The upstream signature manifest of this digest, as signature material (signatureStorePath). */
  signature(sha256: string): ObjectRef;
  blob(sha256: string): ObjectRef;
}

export async function verifyUpstreamSignature(ctx: VerifyContext, keys: readonly CosignKey[], m: ManifestUnderCheck, refs: RefMaker): Promise<VerifyOutcome> {
  const vouchedBy = vouchingIndex(ctx, m.path);
  const signed = await checkSignatureManifest(ctx, keys, m);
  if (signed.ok) {
    const { signature, layers } = signed;
    const kept: VouchedDigest[] = [
      { path: refs.signature(signature.sha256).path, algorithm: 'sha256', digest: signature.sha256, size: signature.size },
      ...layers.map((l) => ({ path: refs.blob(l.sha256).path, algorithm: 'sha256' as const, digest: l.sha256, size: l.size })),
    ];
    return {
      ok: true,
      by: [...new Set(layers.map((l) => `cosign:${l.keyId}`))],
      vouches: [...m.base, ...m.children, ...kept],
      upstreamSignature: { sha256: signature.sha256, verified: layers.map(({ index, sha256, keyId, identity }) => ({ index, sha256, keyId, identity })) },
      // Stored with this revision, so the signature views made of it can still show the upstream's
      // signature once the upstream moves its `.sig` tag (cosign appends a layer: a new manifest).
      ...(m.keepSignature ? { companions: [refs.signature(signature.sha256), ...layers.map((l) => refs.blob(l.sha256))] } : {}),
      ...(m.isTag ? { revision: signedRevision(layers) } : {}),
    };
  }
  if (vouchedBy) return { ok: true, by: [`cosign-vouched:${vouchedBy}`], vouches: [...m.base, ...m.children] };
  return { ok: false, code: 'VERIFICATION_FAILED', reason: signed.reason, vouches: m.base };
}

/** The newest timestamp a pinned key signed for this manifest, or 0 when none carries one. */
function signedRevision(layers: readonly VerifiedLayer[]): Revision {
  const newest = Math.max(0, ...layers.map((l) => l.timestamp ?? 0));
  return newest === 0
    ? { value: 0, label: 'a manifest whose cosign signatures carry no signed timestamp' }
    : { value: newest * 1000, label: `a manifest last signed at ${new Date(newest * 1000).toISOString()}` };
}

/** The verified upstream signature a manifest's record names, for the signature views (see derive). */
export function recordedUpstreamSignature(record: VerificationRecord): { sha256: string; layers: ReadonlyMap<number, string> } | undefined {
  const kept = record.status === 'verified' ? record.upstreamSignature : undefined;
  return kept && { sha256: kept.sha256, layers: new Map(kept.verified.map((l) => [l.index, l.sha256])) };
}

/** The verified layers (position → payload digest) of a stored upstream signature manifest, descriptors verbatim, in its order. */
export function keptLayers(signatureManifest: Buffer, verified: ReadonlyMap<number, string>): UpstreamSignatureLayer[] {
  const layers = rawLayers(signatureManifest);
  const out: UpstreamSignatureLayer[] = [];
  for (const [index, hex] of [...verified].sort(([a], [b]) => a - b)) {
    const descriptor = layers[index];
    if (descriptor && descriptor.digest === `sha256:${hex}` && descriptor.mediaType === SIMPLE_SIGNING_TYPE) out.push({ descriptor, sha256: hex });
  }
  return out;
}

/**
 * The verified index (other than this manifest) that named this digest as a child, if any. Only
 * verified manifests' `children` vouch for a `<name>/manifests/sha256:` path: a signature manifest
 * is vouched for under its own store path (RefMaker.signature), so it never lands here.
 */
function vouchingIndex(ctx: VerifyContext, path: string): string | undefined {
  for (const e of ctx.expectations(path)) {
    if (e.source === path) continue;
    const source = parseOciPath(e.source);
    if (source.ok && source.path.kind === 'manifest') return e.source;
  }
  return undefined;
}

interface VerifiedLayer {
  /** Position in the signature manifest's layers. */
  index: number;
  sha256: string;
  size: number;
  keyId: string;
  identity: string;
  /** The payload's signed `optional.timestamp` (seconds since the epoch), if any. */
  timestamp?: number;
}

type SignatureCheck =
  | { ok: true; signature: { sha256: string; size: number }; layers: VerifiedLayer[] }
  | { ok: false; reason: string };

async function checkSignatureManifest(ctx: VerifyContext, keys: readonly CosignKey[], m: ManifestUnderCheck): Promise<SignatureCheck> {
  const tag = `sha256-${m.sha256}.sig`;
  // Registries answer an OCI manifest only to a client that accepts it; cosign can also write Docker types.
  const res = await small(() => ctx.fetchAuxiliary(`v2/${m.upstreamName}/manifests/${tag}`, MAX_MANIFEST_BYTES, { accept: `${OCI_MANIFEST}, ${DOCKER_MANIFEST}` }));
  if (res.kind === 'too-large') return { ok: false, reason: `the upstream signature manifest ${tag} is over ${MAX_MANIFEST_BYTES} bytes` };
  if (res.kind === 'absent') return { ok: false, reason: `the upstream has no cosign signature for sha256:${m.sha256} (${tag}: HTTP ${res.status}) and no signed index names it` };
  const parsed = parseManifest(res.bytes);
  if (!parsed.ok) return { ok: false, reason: `the upstream signature manifest ${tag} is not valid: ${parsed.reason}` };
  if (parsed.manifest.manifests.length > 0 || parsed.manifest.blobs.length === 0) return { ok: false, reason: `the upstream ${tag} is not an image manifest` };

  // containers/image ignores layers of other types (non-signature attachments); so do we.
  const layers = rawLayers(res.bytes).map((layer, index) => ({ layer, index })).filter(({ layer }) => layer.mediaType === SIMPLE_SIGNING_TYPE).slice(0, MAX_CHECKED_LAYERS);
  if (layers.length === 0) return { ok: false, reason: `the upstream ${tag} holds no simple-signing layer` };
  const verified: VerifiedLayer[] = [];
  const problems: string[] = [];
  for (const { layer, index } of layers) {
    const result = await checkLayer(ctx, keys, m, layer);
    if (typeof result === 'string') problems.push(`layer ${index} (${String(layer.digest).slice(0, 19)}…): ${result}`);
    else verified.push({ index, ...result });
  }
  if (verified.length === 0) return { ok: false, reason: `no cosign signature in the upstream ${tag} verifies: ${problems.join('; ')}` };
  return { ok: true, signature: { sha256: sha256(res.bytes), size: res.bytes.byteLength }, layers: verified };
}

type RawLayer = Readonly<Record<string, unknown>>;

/** The layer descriptors as written, kept verbatim (parseManifest checked digest, size and mediaType of each). */
function rawLayers(bytes: Buffer): RawLayer[] {
  const doc: unknown = JSON.parse(bytes.toString('utf8'));
  const layers = field(doc, 'layers');
  return Array.isArray(layers) ? layers.map((l: unknown) => (typeof l === 'object' && l !== null && !Array.isArray(l) ? (l as RawLayer) : {})) : [];
}

/** A verified layer, or why it does not verify. */
async function checkLayer(ctx: VerifyContext, keys: readonly CosignKey[], m: ManifestUnderCheck, layer: RawLayer): Promise<Omit<VerifiedLayer, 'index'> | string> {
  const annotations = typeof layer.annotations === 'object' && layer.annotations !== null ? (layer.annotations as Record<string, unknown>) : {};
  const encoded = annotations[SIGNATURE_ANNOTATION];
  if (typeof encoded !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return `no base64 ${SIGNATURE_ANNOTATION} annotation`;
  const hex = typeof layer.digest === 'string' ? /^sha256:([0-9a-f]{64})$/.exec(layer.digest)?.[1] : undefined;
  const size = layer.size;
  if (!hex || typeof size !== 'number') return 'the descriptor has no sha256 digest or size';
  if (size > MAX_PAYLOAD_BYTES) return `the payload is over ${MAX_PAYLOAD_BYTES} bytes`;

  const res = await small(() => ctx.fetchAuxiliary(`v2/${m.upstreamName}/blobs/sha256:${hex}`, MAX_PAYLOAD_BYTES));
  if (res.kind === 'too-large') return `the payload blob is over ${MAX_PAYLOAD_BYTES} bytes`;
  if (res.kind === 'absent') return `the payload blob is not in the upstream (HTTP ${res.status})`;
  const payload = res.bytes;
  if (sha256(payload) !== hex || payload.byteLength !== size) {
    return `the payload blob (sha256:${sha256(payload)}, ${payload.byteLength} bytes) does not match its descriptor (${size} bytes)`;
  }
  const key = verifyingKey(keys, payload, Buffer.from(encoded, 'base64'));
  if (!key) return `the signature verifies with none of the ${keys.length} key(s) in trust.cosignKeys`;
  const claims = parseClaims(payload);
  if (typeof claims === 'string') return claims;
  if (claims.type !== COSIGN_TYPE) return `the payload's critical.type is ${JSON.stringify(claims.type).slice(0, 80)}, not "${COSIGN_TYPE}"`;
  if (claims.digest !== `sha256:${m.sha256}`) return `the payload signs ${JSON.stringify(claims.digest).slice(0, 80)}, not sha256:${m.sha256}`;
  return { sha256: hex, size, keyId: key.id, identity: claims.identity, ...(claims.timestamp === undefined ? {} : { timestamp: claims.timestamp }) };
}

function parseClaims(payload: Buffer): { type: unknown; digest: unknown; identity: string; timestamp?: number } | string {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'the payload is not JSON';
  }
  const critical = field(doc, 'critical');
  if (critical === undefined) return 'the payload has no critical section';
  const reference = field(field(critical, 'identity'), 'docker-reference');
  return {
    type: field(critical, 'type'),
    digest: field(field(critical, 'image'), 'docker-manifest-digest'),
    // Recorded in the verification record (and the x-countersign-verification header): printable only.
    identity: typeof reference === 'string' ? reference.replace(/[^A-Za-z0-9._:/@-]/g, '?').slice(0, 255) : '',
    ...timestampClaim(field(field(doc, 'optional'), 'timestamp')),
  };
}

/**
 * containers/image writes `optional.timestamp` as an integer; `cosign sign -a timestamp=<s>` as a
 * string. Anything else (absent, negative, fractional, beyond year 9999) is no timestamp.
 */
function timestampClaim(value: unknown): { timestamp?: number } {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^[0-9]{1,12}$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n > 0 && n < 253402300800 ? { timestamp: n } : {};
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

type SmallFetch = { kind: 'fetched'; bytes: Buffer } | { kind: 'absent'; status: number } | { kind: 'too-large' };

/** An oversized signature file is the upstream's failure to sign properly, not an outage: it does not verify. */
async function small(fetch: () => ReturnType<VerifyContext['fetchAuxiliary']>): Promise<SmallFetch> {
  try {
    const res = await fetch();
    return res.kind === 'fetched' ? { kind: 'fetched', bytes: res.bytes } : res;
  } catch (err) {
    if (isMirrorError(err) && err.code === 'UPSTREAM_TOO_LARGE') return { kind: 'too-large' };
    throw err;
  }
}
