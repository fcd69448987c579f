/**
 * NuGet v3 feeds (https://learn.microsoft.com/en-us/nuget/api/overview): the service index,
 * registration hives and the flat container, mirrored 1:1 under the repository (paths relative to
 * the upstream base). Packages are verified by their upstream signature (primary or repository
 * countersignature) by a certificate pinned in `trust.certificates`, and by the package hash the
 * registration publishes where it does; every served .nupkg carries a repository signature by
 * the org (see resign.ts), by the unverified leaf for what did not verify under warn/off.
 * Search and autocomplete are passed through to where the upstream's service index puts them
 * (`-/nuget/pass-through/<n>`, with the client's query; allowed only to the upstream's origin or
 * one in `redirects.allow`): never verified, stored or signed.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { MirrorError } from '../../errors.js';
import type { Classified, FormatAdapter, FormatRepository, IndexedInput, ObjectRef, VerifyOutcome } from '../types.js';
import { nuspecOf } from './nuspec.js';
import { orgSigningCertificates, repositorySignaturesDocument } from './org-certificates.js';
import { feedPath } from './paths.js';
import { packageHashes, parseRegistration, registrationText, rewriteUrls } from './registration.js';
import { servedPackage } from './resign.js';
import { parseServiceIndex, PASS_THROUGH_PREFIX, passedThroughResources, resourceBases, servedServiceIndex, type ResourceBases } from './service-index.js';
import { nugetConfig } from './setup.js';
import { checkPackageSignature } from './signature-check.js';
import { nugetTrustSchema, type NugetTrust } from './trust.js';
import { UpstreamBase } from './upstream-base.js';
import { upstreamRepositoryCertificates } from './upstream-certificates.js';
import { parseZip, signatureEntry, withoutSignature, entryData, ZipError } from './zip.js';

const JSON_TYPE = 'application/json';
const SERVICE_INDEX = 'index.json';

/** Fingerprints (lowercase hex SHA-256) of every certificate in a PEM bundle or one DER file. */
function certificateFingerprints(bytes: Buffer): string[] {
  const text = bytes.toString('latin1');
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  const certs = pems ? pems.map((p) => new X509Certificate(p)) : [new X509Certificate(bytes)];
  return certs.map((c) => createHash('sha256').update(c.raw).digest('hex'));
}

export const nugetFormat: FormatAdapter<NugetTrust> = {
  name: 'nuget',
  trustSchema: nugetTrustSchema,

  async open({ repository, trust, verify, anchor, upstream, repositoryUrl, keys, readTrustFile }): Promise<FormatRepository> {
    if (!upstream) throw new MirrorError('CONFIG_INVALID', `Repository "${repository}" (nuget) needs an upstream`, { repository });
    const firstUse = !trust.certificates?.length && anchor === 'first-use';
    if (verify === 'require' && !trust.certificates?.length && !firstUse) {
      throw new MirrorError(
        'CONFIG_INVALID',
        `Repository "${repository}" has verify: require but no trust.certificates: pin the upstream's repository signing certificates, `
          + "or set anchor: first-use (the upstream's RepositorySignatures certificates are pinned when first seen), or use verify: warn",
        { repository },
      );
    }
    const pinned = new Set<string>();
    for (const file of trust.certificates ?? []) {
      try {
        certificateFingerprints(await readTrustFile(file)).forEach((f) => pinned.add(f));
      } catch (err) {
        throw new MirrorError('CONFIG_INVALID', `trust.certificates: ${file} holds no readable certificate: ${(err as Error).message}`, { repository });
      }
    }
    const base = new UpstreamBase(upstream);
    const serviceIndexRef: ObjectRef = { path: SERVICE_INDEX, mutable: true, contentType: JSON_TYPE, upstreamPath: trust.serviceIndex ?? SERVICE_INDEX, accept: JSON_TYPE };
    // NuGet reads only an https service index URL from a signature (NuGetV3ServiceIndexUrl.cs).
    const signedServiceIndexUrl = `${repositoryUrl.replace(/^http:\/\//, 'https://')}/${SERVICE_INDEX}`;
    let known: { sha256: string; bases: ResourceBases } | undefined;
    const basesOf = (index: IndexedInput): ResourceBases => {
      if (known?.sha256 !== index.sha256) known = { sha256: index.sha256, bases: resourceBases(parseServiceIndex(index.bytes), base) };
      return known.bases;
    };

    const classifyFeed = (path: string, bases: ResourceBases): Classified => {
      const p = feedPath(path, bases);
      const registrationRef = (id: string): ObjectRef[] => (bases.registrations[0] ? [{ path: `${bases.registrations[0]}${id}/index.json`, mutable: true, contentType: JSON_TYPE }] : []);
      const packageRef = (id: string, version: string, at: string): ObjectRef => ({ path: at, mutable: false, contentType: 'application/octet-stream', requires: registrationRef(id) });
      switch (p.kind) {
        case 'versions':
          return { kind: 'object', path, mutable: true, contentType: JSON_TYPE };
        case 'package':
          return { kind: 'view', of: packageRef(p.id, p.version, path), view: 'package', contentType: 'application/octet-stream' };
        case 'nuspec':
          return { kind: 'view', of: packageRef(p.id, p.version, p.packagePath), view: `nuspec:${p.id}`, contentType: 'text/xml' };
        case 'registration':
          return { kind: 'view', of: { path, mutable: true, contentType: JSON_TYPE }, view: 'registration', contentType: JSON_TYPE };
        case 'unknown':
          return { kind: 'not-found', reason: p.reason };
      }
    };

    const classifySpecial = (path: string): Classified => {
      if (path === '-/setup') {
        return { kind: 'generated', contentType: 'text/xml; charset=utf-8', generate: () => Buffer.from(nugetConfig(repository, repositoryUrl, orgSigningCertificates(keys), verify)) };
      }
      if (path === '-/nuget/repository-signatures.json') {
        return { kind: 'generated', contentType: JSON_TYPE, generate: () => repositorySignaturesDocument(orgSigningCertificates(keys), repositoryUrl) };
      }
      const cert = /^-\/nuget\/certificates\/([0-9a-f]{64})\.crt$/.exec(path);
      const found = cert ? orgSigningCertificates(keys).find((c) => c.sha256 === cert[1]) : undefined;
      if (found) return { kind: 'generated', contentType: 'application/pkix-cert', generate: () => found.der };
      return { kind: 'not-found', reason: `/${path} is not served by this mirror` };
    };

    return {
      classify(path): Classified {
        if (path === SERVICE_INDEX) return { kind: 'view', of: serviceIndexRef, view: 'service-index', contentType: JSON_TYPE };
        if (path.startsWith(PASS_THROUGH_PREFIX)) {
          const n = /^[0-9]{1,3}$/.test(path.slice(PASS_THROUGH_PREFIX.length)) ? Number(path.slice(PASS_THROUGH_PREFIX.length)) : -1;
          return {
            kind: 'indexed', index: serviceIndexRef,
            resolve: (index) => {
              const url = passedThroughResources(parseServiceIndex(index.bytes))[n];
              return url ? { kind: 'pass-through', url } : { kind: 'not-found', reason: `the service index has no search resource ${path.slice(PASS_THROUGH_PREFIX.length)}` };
            },
          };
        }
        if (path.startsWith('-/')) return classifySpecial(path);
        return { kind: 'indexed', index: serviceIndexRef, resolve: (index) => classifyFeed(path, basesOf(index)) };
      },

      async verify(ctx, object): Promise<VerifyOutcome> {
        const bytes = await object.readAll();
        if (object.path.endsWith('.nupkg')) {
          if (!firstUse) return verifyPackage(object.path, bytes, pinned, 'pinned');
          const upstreamCerts = await upstreamRepositoryCertificates(ctx, SERVICE_INDEX, base);
          if (!upstreamCerts.ok) return { ok: false, code: 'TRUST_CHANGED', reason: upstreamCerts.reason };
          return verifyPackage(object.path, bytes, upstreamCerts.fingerprints, 'first-use');
        }
        try {
          if (object.path === SERVICE_INDEX) {
            parseServiceIndex(bytes);
            return { ok: true, by: ['service-index'], anchor: 'none' };
          }
          // Registration documents and the flat container's version lists: unsigned metadata that
          // vouches for nothing but the package hashes it publishes (checked, never trusted alone).
          const doc = parseRegistration(await registrationText(bytes));
          return { ok: true, by: ['nuget-metadata'], anchor: 'none', vouches: packageHashes(doc, base) };
        } catch (err) {
          return { ok: false, code: 'MALFORMED', reason: `${object.path} is not a NuGet v3 document: ${(err as Error).message}` };
        }
      },

      async derive(ctx, view, input): Promise<Buffer> {
        if (view === 'service-index') return Buffer.from(JSON.stringify(servedServiceIndex(parseServiceIndex(input.bytes), base, repositoryUrl), null, 2));
        if (view === 'registration') return Buffer.from(JSON.stringify(rewriteUrls(parseRegistration(await registrationText(input.bytes)), base, repositoryUrl)));
        try {
          if (view === 'package') return await servedPackage(ctx, input.path, input.bytes, signedServiceIndexUrl);
          if (view.startsWith('nuspec:')) return nuspecOf(input.bytes, view.slice(7));
        } catch (err) {
          if (err instanceof MirrorError) throw err;
          throw new MirrorError('MALFORMED', `${input.path}: ${(err as Error).message}`, { repository, object: input.path }, { cause: err });
        }
        throw new MirrorError('INTERNAL', `nuget has no view "${view}"`, { repository, object: input.path });
      },
    };
  },
};

/** Upstream package verification: a signature by a pinned certificate over the package's own hash. */
function verifyPackage(path: string, bytes: Buffer, pinned: ReadonlySet<string>, anchor: 'pinned' | 'first-use'): VerifyOutcome {
  let unsigned: Buffer;
  let p7s: Buffer | undefined;
  try {
    const layout = parseZip(bytes);
    const sig = signatureEntry(layout);
    unsigned = sig ? withoutSignature(layout, sig) : bytes;
    p7s = sig ? Buffer.from(entryData(layout, sig)) : undefined;
  } catch (err) {
    if (err instanceof ZipError) return { ok: false, code: 'MALFORMED', reason: `${path} is not a NuGet package: ${err.message}` };
    throw err;
  }
  if (!p7s) return { ok: false, code: 'VERIFICATION_FAILED', reason: `${path} is not signed upstream: no pinned certificate vouches for it` };
  const check = checkPackageSignature(p7s);
  if (!check.ok) return { ok: false, code: 'VERIFICATION_FAILED', reason: `${path}: ${check.reason}` };
  if (!createHash(check.content.algorithm).update(unsigned).digest().equals(check.content.hash)) {
    return { ok: false, code: 'DIGEST_MISMATCH', reason: `${path}: the package bytes do not match the ${check.content.algorithm} hash its signature covers` };
  }
  const signers = [check.primary, ...check.countersigners];
  const trusted = signers.filter((s) => pinned.has(s.fingerprint));
  if (trusted.length === 0) {
    const where = anchor === 'pinned' ? 'trust.certificates' : "the upstream's RepositorySignatures resource (pinned on first use)";
    return { ok: false, code: 'VERIFICATION_FAILED', reason: `${path} is signed by ${signers.map((s) => `${s.type} certificate ${s.fingerprint}`).join(' and ')}, none of them pinned in ${where}` };
  }
  return { ok: true, by: trusted.map((s) => `x509:${s.type}:${s.fingerprint}`), anchor };
}


