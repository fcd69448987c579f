/**
 * OCI / Docker pull-through: the distribution API pull path for `format: oci` repositories
 * (`/v2/<repository>/<image…>/…`, see src/server/distribution-route.ts), with every manifest
 * digest it serves cosign-signed by the org ECDSA key at tag `sha256-<hex>.sig`.
 *
 * - Blobs and manifests by digest are immutable objects, checked against their digest before
 *   they are stored (the digest in the path is the object's vouch for itself).
 * - Tags are mutable objects revalidated after metadataTtl, per set of acceptable manifest
 *   types; the last verified mapping is served stale when the upstream fails.
 * - A manifest vouches for the blobs and child manifests it names (digest and size).
 * - Signatures, their payload/config blobs and the referrers index are derived views of the
 *   signed manifest, published by digest (DeriveContext.putContent).
 * Spec: ../shared/specs/formats-pki.md §1; distribution-spec spec.md.
 */
import { MirrorError } from '../../errors.js';
import type { Classified, DeriveContext, DeriveInput, FormatAdapter, FormatRepository, ObjectRef, VerifyOutcome, VouchedDigest } from '../types.js';
import { COSIGN_SIG_ARTIFACT, referrersIndex, signatureConfig, signatureManifest, simpleSigningPayload, type SignatureLayer } from './cosign-signature.js';
import { manifestContentType, parseManifest } from './manifest.js';
import { MANIFEST_TYPES, negotiateManifestTypes, OCI_INDEX, OCI_MANIFEST } from './media-types.js';
import { renderOciError } from './oci-errors.js';
import { parseOciPath, tagStorePath, type OciPath } from './oci-path.js';
import { ociTrustSchema, type OciTrust } from './trust.js';
import { upstreamNaming, type UpstreamNaming } from './upstream-naming.js';

const SIG_TAG = /^sha256-([0-9a-f]{64})\.sig$/;
const MAX_TAG_LIST_BYTES = 4 * 1024 * 1024;

export const ociFormat: FormatAdapter<OciTrust> = {
  name: 'oci',
  trustSchema: ociTrustSchema,
  async open({ repository, trust, repositoryUrl, upstream }): Promise<FormatRepository> {
    const naming = upstreamNaming({ repository, repositoryUrl, upstream, trust });
    return new OciRepository(naming, trust);
  },
};

class OciRepository implements FormatRepository {
  readonly #naming: UpstreamNaming;
  /** Part of every signature view's name, so a changed identity setting makes new signatures. */
  readonly #identityTag: string;

  constructor(naming: UpstreamNaming, trust: OciTrust) {
    this.#naming = naming;
    this.#identityTag = trust.signedIdentities.join('+');
  }

  classify(path: string, request: { accept?: string }): Classified {
    const parsed = parseOciPath(path);
    if (!parsed.ok) return { kind: 'not-found', reason: parsed.reason };
    const p = parsed.path;
    switch (p.kind) {
      case 'blob':
        return {
          kind: 'content', sha256: p.digest, contentType: () => 'application/octet-stream',
          otherwise: { kind: 'object', ...this.#blobRef(p.name, p.digest) },
        };
      case 'manifest': {
        if ('digest' in p) {
          return { kind: 'content', sha256: p.digest, contentType: manifestContentType, otherwise: { kind: 'object', ...this.#digestManifestRef(p.name, p.digest) } };
        }
        const sig = SIG_TAG.exec(p.tag)?.[1];
        // Our own signatures: never the upstream's tag of that name (its layers would be signed by foreign keys).
        if (sig) return { kind: 'view', of: this.#digestManifestRef(p.name, sig), view: `cosign-sig:${this.#identityTag}`, contentType: OCI_MANIFEST };
        const types = negotiateManifestTypes(request.accept);
        return {
          kind: 'object', path: tagStorePath(p.name, p.tag, types, MANIFEST_TYPES), mutable: true,
          upstreamPath: `v2/${this.#naming.upstreamName(p.name)}/manifests/${p.tag}`, accept: types.join(', '),
          revalidateByHead: 'docker-content-digest',
        };
      }
      case 'tags':
        return { kind: 'object', path: `${p.name}/tags/list`, mutable: true, upstreamPath: `v2/${this.#naming.upstreamName(p.name)}/tags/list`, contentType: 'application/json' };
      case 'referrers':
        return { kind: 'view', of: this.#digestManifestRef(p.name, p.digest), view: `referrers:${this.#identityTag}`, contentType: OCI_INDEX };
      default:
        return assertNever(p);
    }
  }

  async verify(_ctx: unknown, object: { path: string; sha256: string; size: number; readAll(): Promise<Buffer> }): Promise<VerifyOutcome> {
    const parsed = parseOciPath(object.path);
    if (!parsed.ok) return { ok: false, code: 'VERIFICATION_FAILED', reason: parsed.reason };
    const p = parsed.path;
    switch (p.kind) {
      case 'blob':
        return { ok: true, by: ['sha256-digest'], vouches: [{ path: object.path, algorithm: 'sha256', digest: p.digest }] };
      case 'manifest': {
        const self: VouchedDigest[] = 'digest' in p ? [{ path: object.path, algorithm: 'sha256', digest: p.digest }] : [];
        const parsedManifest = parseManifest(await object.readAll());
        if (!parsedManifest.ok) return { ok: false, code: 'VERIFICATION_FAILED', reason: parsedManifest.reason, vouches: self };
        const m = parsedManifest.manifest;
        const vouches: VouchedDigest[] = [
          ...self,
          ...m.blobs.map((d) => ({ path: `${p.name}/blobs/sha256:${d.sha256}`, algorithm: 'sha256' as const, digest: d.sha256, size: d.size })),
          ...m.manifests.map((d) => ({ path: `${p.name}/manifests/sha256:${d.sha256}`, algorithm: 'sha256' as const, digest: d.sha256, size: d.size })),
        ];
        return { ok: true, by: ['digest' in p ? 'sha256-digest' : 'oci-manifest'], vouches };
      }
      case 'tags': {
        if (object.size > MAX_TAG_LIST_BYTES) return { ok: false, code: 'VERIFICATION_FAILED', reason: 'the tag list is too large' };
        try {
          const doc = JSON.parse((await object.readAll()).toString('utf8')) as { tags?: unknown };
          if (doc.tags !== null && doc.tags !== undefined && !Array.isArray(doc.tags)) throw new Error('tags is not a list');
        } catch (err) {
          return { ok: false, code: 'VERIFICATION_FAILED', reason: `the tag list is not valid: ${(err as Error).message}` };
        }
        return { ok: true, by: ['oci-tag-list'] };
      }
      case 'referrers':
        return { ok: false, code: 'VERIFICATION_FAILED', reason: 'referrers are made by the mirror, not fetched' };
      default:
        return assertNever(p);
    }
  }

  async derive(ctx: DeriveContext, view: string, input: DeriveInput): Promise<Buffer> {
    const parsed = parseOciPath(input.path);
    if (!parsed.ok || parsed.path.kind !== 'manifest' || !('digest' in parsed.path)) {
      throw new MirrorError('INTERNAL', `${input.path} is not a manifest by digest`, { repository: ctx.repository, object: input.path });
    }
    const { name } = parsed.path;
    const manifest = parseManifest(input.bytes);
    if (!manifest.ok) throw new MirrorError('VERIFICATION_FAILED', `${input.path}: ${manifest.reason}`, { repository: ctx.repository, object: input.path });
    const publish = ctx.putContent;
    if (!publish) throw new MirrorError('INTERNAL', 'the derive context cannot publish content', { repository: ctx.repository });

    // One signature per identity, each made once per (payload, key) and cached: the manifest digest stays stable.
    const layers: SignatureLayer[] = [];
    for (const identity of this.#naming.identities(name)) {
      const payload = simpleSigningPayload(identity, input.sha256);
      const { signature } = ctx.ecdsaSignCached(`${name}@sha256:${input.sha256} as ${identity}`, payload);
      const bytes = Buffer.from(payload, 'utf8');
      await publish(bytes);
      layers.push({ payload: bytes, signature });
    }
    const config = signatureConfig(layers);
    await publish(config);
    const kind = view.split(':')[0];
    if (kind === 'cosign-sig') {
      const sig = signatureManifest(layers, config);
      await publish(sig);
      return sig;
    }
    if (kind === 'referrers') {
      const subject = { mediaType: manifest.manifest.mediaType, sha256: input.sha256, size: input.bytes.byteLength };
      const referrer = signatureManifest(layers, config, { subject });
      await publish(referrer);
      return referrersIndex([{ bytes: referrer, artifactType: COSIGN_SIG_ARTIFACT }]);
    }
    throw new MirrorError('INTERNAL', `unknown oci view "${view}"`, { repository: ctx.repository, object: input.path });
  }

  responseHeaders(path: string, served: { sha256: string }): Record<string, string> {
    const headers: Record<string, string> = { 'docker-distribution-api-version': 'registry/2.0' };
    const parsed = parseOciPath(path);
    if (parsed.ok && (parsed.path.kind === 'manifest' || parsed.path.kind === 'blob')) headers['docker-content-digest'] = `sha256:${served.sha256}`;
    return headers;
  }

  renderError(path: string, error: { code: string; status: number; message: string; details: Record<string, unknown> }) {
    const parsed = parseOciPath(path);
    return renderOciError(parsed.ok ? parsed.path.kind : undefined, error);
  }

  #blobRef(name: string, digest: string): ObjectRef {
    return {
      path: `${name}/blobs/sha256:${digest}`, mutable: false, contentType: 'application/octet-stream', namedBySha256: digest,
      upstreamPath: `v2/${this.#naming.upstreamName(name)}/blobs/sha256:${digest}`,
    };
  }

  #digestManifestRef(name: string, digest: string): ObjectRef {
    return {
      path: `${name}/manifests/sha256:${digest}`, mutable: false,
      upstreamPath: `v2/${this.#naming.upstreamName(name)}/manifests/sha256:${digest}`, accept: MANIFEST_TYPES.join(', '),
    };
  }
}

function assertNever(value: never): never {
  throw new MirrorError('INTERNAL', `Unhandled OCI path ${JSON.stringify(value as OciPath)}`);
}
