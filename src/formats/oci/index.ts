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
 * - Trust is the upstream's cosign keys (`trust.cosignKeys`): a manifest must carry the upstream's
 *   cosign signature or be named by an index that did (upstream-signatures.ts); the verified
 *   signature layers are served in the `.sig` next to the org's. Without pinned keys a digest is
 *   the only check and nothing the operator pinned vouches (anchor `none`): `verify: require`
 *   refuses to open, `warn`/`off` serve what the signing ledger signs with the unverified key.
 * - Signatures, their payload/config blobs and the referrers index are derived views of the
 *   signed manifest, published by digest (DeriveContext.putContent).
 * - tags/list pages (`?n=&last=`) are views of the upstream's page with a computed next Link
 *   (tags-page.ts); `/<repo>/-/setup` prints the client setup (client-setup.ts).
 * Spec: ../shared/specs/formats-pki.md §1; distribution-spec spec.md.
 */
import { MirrorError } from '../../errors.js';
import type { Classified, DeriveContext, DeriveInput, FormatAdapter, FormatRepository, ObjectRef, VerifyContext, VerifyOutcome, VouchedDigest } from '../types.js';
import { ociClientSetup } from './client-setup.js';
import { loadCosignKeys, type CosignKey } from './cosign-keys.js';
import { COSIGN_SIG_ARTIFACT, referrersIndex, signatureConfig, signatureManifest, simpleSigningPayload, type SignatureLayer, type UpstreamSignatureLayer } from './cosign-signature.js';
import { manifestContentType, parseManifest } from './manifest.js';
import { MANIFEST_TYPES, negotiateManifestTypes, OCI_INDEX, OCI_MANIFEST } from './media-types.js';
import { renderOciError } from './oci-errors.js';
import { parseOciPath, parseSignatureStorePath, signatureStorePath, tagStorePath, type OciPath } from './oci-path.js';
import { classifyTags, nextLink, pageView, TAGS_PAGE_VIEW } from './tags-page.js';
import { ociTrustSchema, type OciTrust } from './trust.js';
import { upstreamNaming, type UpstreamNaming } from './upstream-naming.js';
import { keptLayers, recordedUpstreamSignature, verifyUpstreamSignature } from './upstream-signatures.js';

const SIG_TAG = /^sha256-([0-9a-f]{64})\.sig$/;
const MAX_TAG_LIST_BYTES = 4 * 1024 * 1024;
/** Internal view (DeriveContext.derivedOf) of a stored upstream signature manifest: its bytes as verified. */
const UPSTREAM_SIGNATURE_VIEW = 'upstream-signature';

export const ociFormat: FormatAdapter<OciTrust> = {
  name: 'oci',
  trustSchema: ociTrustSchema,
  async open({ repository, trust, verify, repositoryUrl, upstream, readTrustFile }): Promise<FormatRepository> {
    const naming = upstreamNaming({ repository, repositoryUrl, upstream, trust });
    const files = trust.cosignKeys === undefined ? [] : Array.isArray(trust.cosignKeys) ? trust.cosignKeys : [trust.cosignKeys];
    // A digest the client names proves only that the upstream sent those bytes, not who made them.
    if (verify === 'require' && files.length === 0) {
      throw new MirrorError('CONFIG_INVALID', `Repository "${repository}" has verify: require but no trust.cosignKeys: pin the upstream's cosign keys, or use verify: warn`, { repository });
    }
    const setup = ociClientSetup({
      repository, repositoryUrl, mirrorRepository: naming.mirrorRepository, signedIdentities: trust.signedIdentities,
      upstreamRegistry: naming.registry, upstreamScheme: urlScheme(upstream), verify,
    });
    return new OciRepository(naming, trust, await loadCosignKeys(repository, files, readTrustFile), { repository, setup });
  },
};

class OciRepository implements FormatRepository {
  readonly #naming: UpstreamNaming;
  /** Part of every signature view's name, so a changed identity setting makes new signatures. */
  readonly #identityTag: string;
  /** The upstream's cosign keys; none: manifests are checked against their digest only. */
  readonly #cosignKeys: readonly CosignKey[];
  /** The repository name (next-page links) and the client setup text served at `-/setup`. */
  readonly #site: { repository: string; setup: string };

  constructor(naming: UpstreamNaming, trust: OciTrust, cosignKeys: readonly CosignKey[], site: { repository: string; setup: string }) {
    this.#site = site;
    this.#naming = naming;
    this.#identityTag = trust.signedIdentities.join('+');
    this.#cosignKeys = cosignKeys;
  }

  classify(path: string, request: { accept?: string }): Classified {
    // Reached as `/<repo>/-/setup`, outside the distribution API (no image name starts with "-").
    if (path === '-/setup') return { kind: 'generated', contentType: 'text/plain; charset=utf-8', generate: () => Buffer.from(this.#site.setup) };
    const parsed = parseOciPath(path);
    if (!parsed.ok && parsed.parameter) throw new MirrorError('BAD_PATH', parsed.reason, { object: path, parameter: parsed.parameter });
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
        return classifyTags(p.name, this.#naming.upstreamName(p.name), p.page);
      case 'referrers':
        return { kind: 'view', of: this.#digestManifestRef(p.name, p.digest), view: `referrers:${this.#identityTag}`, contentType: OCI_INDEX };
      default:
        return assertNever(p);
    }
  }

  async verify(ctx: VerifyContext, object: { path: string; sha256: string; size: number; readAll(): Promise<Buffer> }): Promise<VerifyOutcome> {
    const signature = parseSignatureStorePath(object.path);
    if (signature) return verifySignatureMaterial(ctx, object.path, signature.sha256, await object.readAll());
    const parsed = parseOciPath(object.path);
    if (!parsed.ok) return { ok: false, code: 'VERIFICATION_FAILED', reason: parsed.reason };
    const p = parsed.path;
    switch (p.kind) {
      case 'blob': {
        // The client names the digest; only a verified manifest naming it is the operator's trust.
        const anchor = this.#cosignKeys.length > 0 && ctx.expectations(object.path).some((e) => e.source !== object.path) ? 'pinned' : 'none';
        return { ok: true, by: ['sha256-digest'], vouches: [{ path: object.path, algorithm: 'sha256', digest: p.digest }], anchor };
      }
      case 'manifest': {
        const self: VouchedDigest[] = 'digest' in p ? [{ path: object.path, algorithm: 'sha256', digest: p.digest }] : [];
        const parsedManifest = parseManifest(await object.readAll());
        if (!parsedManifest.ok) return { ok: false, code: 'MALFORMED', reason: parsedManifest.reason, vouches: self };
        const m = parsedManifest.manifest;
        const base: VouchedDigest[] = [
          ...self,
          ...m.blobs.map((d) => ({ path: `${p.name}/blobs/sha256:${d.sha256}`, algorithm: 'sha256' as const, digest: d.sha256, size: d.size })),
        ];
        const children = m.manifests.map((d) => ({ path: `${p.name}/manifests/sha256:${d.sha256}`, algorithm: 'sha256' as const, digest: d.sha256, size: d.size }));
        if (this.#cosignKeys.length > 0) {
          return verifyUpstreamSignature(ctx, this.#cosignKeys, {
            path: object.path, sha256: object.sha256, upstreamName: this.#naming.upstreamName(p.name), base, children,
            keepSignature: 'digest' in p, isTag: !('digest' in p),
          }, { signature: (d) => this.#signatureRef(p.name, d), blob: (d) => this.#blobRef(p.name, d) });
        }
        // Digest checks only: nothing the operator pinned vouches, so only the unverified key signs it.
        return { ok: true, by: ['digest' in p ? 'sha256-digest' : 'oci-manifest'], vouches: [...base, ...children], anchor: 'none' };
      }
      case 'tags': {
        if (object.size > MAX_TAG_LIST_BYTES) return { ok: false, code: 'VERIFICATION_FAILED', reason: 'the tag list is too large' };
        try {
          const doc = JSON.parse((await object.readAll()).toString('utf8')) as { tags?: unknown };
          if (doc.tags !== null && doc.tags !== undefined && !Array.isArray(doc.tags)) throw new Error('tags is not a list');
        } catch (err) {
          return { ok: false, code: 'MALFORMED', reason: `the tag list is not valid: ${(err as Error).message}` };
        }
        return { ok: true, by: ['oci-tag-list'], anchor: 'none' };
      }
      case 'referrers':
        return { ok: false, code: 'VERIFICATION_FAILED', reason: 'referrers are made by the mirror, not fetched' };
      default:
        return assertNever(p);
    }
  }

  async derive(ctx: DeriveContext, view: string, input: DeriveInput): Promise<Buffer> {
    if (view.startsWith(`${TAGS_PAGE_VIEW}?`)) return pageView(view, input.bytes);
    if (view === UPSTREAM_SIGNATURE_VIEW && parseSignatureStorePath(input.path)) return input.bytes;
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
    // The ledger picks the key from this manifest's record: primary only when a pinned cosign key vouched.
    const layers: SignatureLayer[] = [];
    for (const identity of this.#naming.identities(name)) {
      const payload = simpleSigningPayload(identity, input.sha256);
      const { signature } = await ctx.sign({ scheme: 'ecdsa', object: `${name}@sha256:${input.sha256} as ${identity}`, data: payload });
      const bytes = Buffer.from(payload, 'utf8');
      await publish(bytes);
      layers.push({ payload: bytes, signature });
    }
    const upstream = await this.#upstreamLayers(ctx, name, input);
    const config = signatureConfig(layers, upstream);
    await publish(config);
    const kind = view.split(':')[0];
    if (kind === 'cosign-sig') {
      const sig = signatureManifest(layers, config, { upstream });
      await publish(sig);
      return sig;
    }
    if (kind === 'referrers') {
      const subject = { mediaType: manifest.manifest.mediaType, sha256: input.sha256, size: input.bytes.byteLength };
      const referrer = signatureManifest(layers, config, { subject, upstream });
      await publish(referrer);
      return referrersIndex([{ bytes: referrer, artifactType: COSIGN_SIG_ARTIFACT }]);
    }
    throw new MirrorError('INTERNAL', `unknown oci view "${view}"`, { repository: ctx.repository, object: input.path });
  }

  /**
   * The upstream's verified signature layers, kept next to the org's. Verification stored the
   * upstream signature manifest and its payload blobs as objects (companions of the signed
   * manifest, so they stay servable when the upstream's `.sig` tag moves) and named it and the
   * layers that verified in the manifest's verification record; the view reads it back through
   * the core. A pure function of that record, so the view stays deterministic per revision.
   */
  async #upstreamLayers(ctx: DeriveContext, name: string, input: DeriveInput): Promise<UpstreamSignatureLayer[]> {
    const recorded = recordedUpstreamSignature(input.verification);
    if (!recorded) return [];
    const stored = await ctx.derivedOf(this.#signatureRef(name, recorded.sha256), UPSTREAM_SIGNATURE_VIEW);
    return keptLayers(stored.bytes, recorded.layers);
  }

  responseHeaders(path: string, served: { sha256: string; bytes?: Buffer }): Record<string, string> {
    const headers: Record<string, string> = { 'docker-distribution-api-version': 'registry/2.0' };
    const parsed = parseOciPath(path);
    if (parsed.ok && (parsed.path.kind === 'manifest' || parsed.path.kind === 'blob')) headers['docker-content-digest'] = `sha256:${served.sha256}`;
    // A page is served as a view, so its bytes are at hand.
    const link = parsed.ok && parsed.path.kind === 'tags' && parsed.path.page && served.bytes
      ? nextLink(this.#site.repository, parsed.path.name, parsed.path.page, served.bytes) : undefined;
    if (link) headers.link = link;
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

  /** The upstream's `.sig` manifest of a verified manifest, fetched by its digest and kept as signature material. */
  #signatureRef(name: string, digest: string): ObjectRef {
    return {
      path: signatureStorePath(name, digest), mutable: false,
      upstreamPath: `v2/${this.#naming.upstreamName(name)}/manifests/sha256:${digest}`, accept: MANIFEST_TYPES.join(', '),
    };
  }

  #digestManifestRef(name: string, digest: string): ObjectRef {
    return {
      path: `${name}/manifests/sha256:${digest}`, mutable: false,
      upstreamPath: `v2/${this.#naming.upstreamName(name)}/manifests/sha256:${digest}`, accept: MANIFEST_TYPES.join(', '),
    };
  }
}

/**
 * An upstream signature manifest kept beside the manifest it signs: its path names the digest the
 * verified manifest's record holds (checked here as the bytes' own vouch), and it must be an image
 * manifest. It is signature material, not content: no client path reaches it and no view signs it;
 * the `.sig` views read only its layers that verified (keptLayers). Its anchor is that of the
 * manifest whose verification named it (pinned), or `none` when nothing verified named it, which
 * makes every view read from it unverified (derived-views.ts).
 */
function verifySignatureMaterial(ctx: VerifyContext, path: string, sha256: string, bytes: Buffer): VerifyOutcome {
  const self: VouchedDigest[] = [{ path, algorithm: 'sha256', digest: sha256 }];
  const parsed = parseManifest(bytes);
  if (!parsed.ok) return { ok: false, code: 'VERIFICATION_FAILED', reason: `the upstream signature manifest is not valid: ${parsed.reason}`, vouches: self };
  if (parsed.manifest.manifests.length > 0) return { ok: false, code: 'VERIFICATION_FAILED', reason: 'the upstream signature manifest is an index', vouches: self };
  const named = ctx.expectations(path).find((e) => e.source !== path && parseOciPath(e.source).ok);
  return named
    ? { ok: true, by: [`cosign-signature-of:${named.source}`], vouches: self }
    : { ok: true, by: ['cosign-signature-material'], vouches: self, anchor: 'none' };
}

/** `https:`/`http:` of a URL that may carry credentials (only the scheme leaves here). */
function urlScheme(url: string | undefined): string | undefined {
  try {
    return url ? new URL(url).protocol : undefined;
  } catch {
    return undefined;
  }
}

function assertNever(value: never): never {
  throw new MirrorError('INTERNAL', `Unhandled OCI path ${JSON.stringify(value as OciPath)}`);
}
