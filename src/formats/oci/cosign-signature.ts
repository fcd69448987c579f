/**
 * Cosign key-pair signatures in the legacy tag layout (`sha256-<hex>.sig`) that cosign and
 * containers/image read, plus the OCI 1.1 referrer form of the same signatures.
 * Layout: ../shared/specs/formats-pki.md §1.2–1.3; cosign specs/SIGNATURE_SPEC.md;
 * containers/image signature/internal/sigstore_payload.go (exact field sets).
 *
 * Everything here is a pure function of (identities, manifest digest, signatures, the upstream's
 * verified signature layers), so with signatures cached per (payload, key) the signature
 * manifest's digest is stable.
 */
import { createHash } from 'node:crypto';
import { OCI_CONFIG, OCI_INDEX, OCI_MANIFEST } from './media-types.js';

export const SIMPLE_SIGNING_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** cosign `--experimental-oci11`: the artifactType / config mediaType of a signature referrer. */
export const COSIGN_SIG_ARTIFACT = 'application/vnd.dev.cosign.artifact.sig.v1+json';
const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * The simple-signing payload. Key order and the `"optional":null` member are as cosign writes
 * them; containers/image requires exactly these keys (and `optional` present).
 */
export function simpleSigningPayload(dockerReference: string, manifestSha256: string): string {
  return JSON.stringify({
    critical: {
      identity: { 'docker-reference': dockerReference },
      image: { 'docker-manifest-digest': `sha256:${manifestSha256}` },
      type: 'cosign container image signature',
    },
    optional: null,
  });
}

export interface SignatureLayer {
  payload: Buffer;
  /** DER ECDSA signature over SHA-256(payload). */
  signature: Buffer;
}

/**
 * A signature layer of the upstream's own signature manifest that verified, kept verbatim: its
 * descriptor with every annotation (certificate, chain, bundle) cosign may need, and its payload
 * digest (the blob stays the upstream's bytes, served as a verified object).
 */
export interface UpstreamSignatureLayer {
  descriptor: Readonly<Record<string, unknown>>;
  /** Hex of the payload digest (= the layer's diff_id: simple-signing layers are not compressed). */
  sha256: string;
}

/** go-containerregistry's empty image plus the layers, as cosign writes it, without timestamps that vary. */
export function signatureConfig(layers: readonly SignatureLayer[], upstream: readonly UpstreamSignatureLayer[] = []): Buffer {
  const diffIds = [...layers.map((l) => sha256(l.payload)), ...upstream.map((u) => u.sha256)].map((hex) => `sha256:${hex}`);
  return Buffer.from(JSON.stringify({
    architecture: '',
    created: ZERO_TIME,
    history: diffIds.map(() => ({ created: ZERO_TIME })),
    os: '',
    rootfs: { type: 'layers', diff_ids: diffIds },
    config: {},
  }));
}

/**
 * The manifest at tag `sha256-<hex>.sig`: OCI image manifest, one simple-signing layer per org
 * signature, then the upstream's verified layers as it wrote them (verifiers need one to verify
 * with their key and ignore the others). With `subject`: the OCI 1.1 referrer form.
 */
export function signatureManifest(
  layers: readonly SignatureLayer[],
  config: Buffer,
  options: { subject?: { mediaType: string; sha256: string; size: number }; upstream?: readonly UpstreamSignatureLayer[] } = {},
): Buffer {
  const { subject, upstream = [] } = options;
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: subject ? COSIGN_SIG_ARTIFACT : OCI_CONFIG, size: config.byteLength, digest: `sha256:${sha256(config)}` },
    layers: [
      ...layers.map((l) => ({
        mediaType: SIMPLE_SIGNING_TYPE,
        size: l.payload.byteLength,
        digest: `sha256:${sha256(l.payload)}`,
        annotations: { [SIGNATURE_ANNOTATION]: l.signature.toString('base64') },
      })),
      ...upstream.map((u) => u.descriptor),
    ],
  };
  if (subject) manifest.subject = { mediaType: subject.mediaType, size: subject.size, digest: `sha256:${subject.sha256}` };
  return Buffer.from(JSON.stringify(manifest));
}

/** The referrers API answer: an OCI index listing the signature referrer (or nothing). */
export function referrersIndex(referrers: readonly { bytes: Buffer; artifactType: string }[]): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: referrers.map((r) => ({
      mediaType: OCI_MANIFEST, size: r.bytes.byteLength, digest: `sha256:${sha256(r.bytes)}`, artifactType: r.artifactType,
    })),
  }));
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
