/**
 * Makes new keys of several kinds at once. Every key pair starts immediately (node's RSA
 * and EC generation run on the libuv pool, openpgp.js RSA uses node crypto as well), and
 * leaves wait only for the CA certificate they need, so first start costs roughly one RSA
 * 4096 generation, not the sum of all of them.
 */
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MirrorError } from '../errors.js';
import { generateOpenPgpKey, parseIdentity } from './generate-openpgp.js';
import { CA_VALIDITY_YEARS, issueCertificate, LEAF_VALIDITY_YEARS } from './generate-x509.js';
import { spkiDer } from './key-ids.js';
import { pendingCertified, pendingNodeKey, pendingOpenPgp, type BuildContext, type LoadedKey, type PendingKey } from './key-material.js';
import { generateNodeKey } from './pem-keys.js';
import { kindFor, UNVERIFIED_UID_COMMENT } from './key-roles.js';
import type { EcdsaCurve, KeyKind, KeyRole } from './types.js';

export interface ResolvedKeyOptions {
  openpgp: 'rsa4096' | 'ed25519';
  ecdsaCurve: EcdsaCurve;
  rsaKeyName?: string;
  identity: string;
}

/** RSA modulus sizes. The CA and NuGet leaf use 3072 (128-bit strength, like P-256). */
export interface KeySizes {
  openpgpRsaBits: number;
  alpineRsaBits: number;
  caRsaBits: number;
  leafRsaBits: number;
}

export const DEFAULT_SIZES: KeySizes = { openpgpRsaBits: 4096, alpineRsaBits: 4096, caRsaBits: 3072, leafRsaBits: 3072 };

export interface CaSource {
  id: string;
  certDer: Buffer;
  privateKey: KeyObject;
}

/** The active CA of each role, where there is one. */
export type CaSources = Partial<Record<KeyRole, CaSource>>;

export type CaKind = 'x509-ca' | 'x509-ca-unverified';
export type LeafKind = 'x509-rsa' | 'x509-ecdsa' | 'x509-rsa-unverified' | 'x509-ecdsa-unverified';

export function isCaKind(kind: KeyKind): kind is CaKind {
  return kind === 'x509-ca' || kind === 'x509-ca-unverified';
}

/** The leaf kinds a role's CA issues (a new CA comes with new leaves). */
export function leafKindsOf(role: KeyRole): LeafKind[] {
  return role === 'primary' ? ['x509-rsa', 'x509-ecdsa'] : ['x509-rsa-unverified', 'x509-ecdsa-unverified'];
}

export interface GenerateContext extends BuildContext {
  options: ResolvedKeyOptions;
  sizes: KeySizes;
  /** Alpine key names already used by any key in the store. */
  takenRsaNames: ReadonlySet<string>;
  log(obj: object, msg: string): void;
}

/**
 * The Alpine key name. Unverified keys always get `<name>-unverified-<hex>`: apk picks the
 * key by this name, so it must never coincide with (or be mistaken for) a primary key's.
 */
export function chooseRsaKeyName(spki: Buffer, preferred: string | undefined, taken: ReadonlySet<string>, role: KeyRole = 'primary'): string {
  const hex = createHash('sha256').update(spki).digest('hex').slice(0, 8);
  if (role === 'unverified') {
    const name = `${preferred ?? 'countersign'}-unverified-${hex}`;
    if (taken.has(name)) throw new MirrorError('KEY_ERROR', `The Alpine key name ${name} is already used by another key`);
    return name;
  }
  if (preferred && !taken.has(preferred)) return preferred;
  // apk finds keys by file name, so every rotated key needs a name of its own.
  const name = `${preferred ?? 'countersign'}-${hex}`;
  if (taken.has(name)) throw new MirrorError('KEY_ERROR', `The Alpine key name ${name} is already used by another key`);
  return name;
}

/** The O= of our certificates: the identity's name part. */
export function organization(identity: string): string {
  const uid = parseIdentity(identity);
  return uid.name ?? uid.email ?? identity;
}

export async function issueLeaf(type: 'rsa' | 'ecdsa', key: KeyObject, ca: CaSource, ctx: GenerateContext, role: KeyRole = 'primary'): Promise<PendingKey> {
  const org = organization(ctx.options.identity);
  const what = role === 'primary' ? 'code signing' : `code signing, ${UNVERIFIED_UID_COMMENT}`;
  const der = await issueCertificate({
    subjectKey: key,
    commonName: `${org} ${what} (${type === 'rsa' ? 'RSA' : 'ECDSA'})`,
    organization: org,
    profile: { type: 'code-signing' },
    validityYears: LEAF_VALIDITY_YEARS,
    issuer: { certDer: ca.certDer, privateKey: ca.privateKey },
    now: ctx.now,
  });
  return pendingCertified(kindFor(`x509-${type}`, role), key, [new X509Certificate(der), new X509Certificate(ca.certDer)], ctx, ca.id);
}

export async function issueCa(key: KeyObject, ctx: GenerateContext, role: KeyRole = 'primary'): Promise<PendingKey> {
  const org = organization(ctx.options.identity);
  const der = await issueCertificate({
    subjectKey: key,
    // The unverified root says what it is, so nobody installs it as the org root by mistake.
    commonName: role === 'primary' ? `${org} root CA` : `${org} root CA for ${UNVERIFIED_UID_COMMENT}`,
    organization: org,
    profile: { type: 'ca' },
    validityYears: CA_VALIDITY_YEARS,
    now: ctx.now,
  });
  return pendingCertified(kindFor('x509-ca', role), key, [new X509Certificate(der)], ctx);
}

export function caSourceOf(loaded: LoadedKey): CaSource {
  if (loaded.secret?.type !== 'node' || !loaded.certs?.[0]) throw new MirrorError('KEY_ERROR', 'The CA has no private key loaded');
  return { id: loaded.record.id, certDer: loaded.certs[0].raw, privateKey: loaded.secret.key };
}

/**
 * New keys for `kinds`. Leaves are issued by the new CA of their role when that CA is among
 * the kinds, otherwise by the role's CA in `activeCas`.
 */
export async function generateKinds(kinds: ReadonlySet<KeyKind>, ctx: GenerateContext, activeCas: CaSources = {}): Promise<PendingKey[]> {
  const { options, sizes } = ctx;
  const timed = async (kind: KeyKind, make: () => Promise<PendingKey>): Promise<PendingKey> => {
    const started = performance.now();
    const pending = await make();
    const { id, algorithm } = pending.loaded.record;
    ctx.log({ kind, id, algorithm, ms: Math.round(performance.now() - started) }, `generated ${kind} key`);
    return pending;
  };
  const jobs: Promise<PendingKey>[] = [];
  // Unverified twins use the same algorithms as their primary kind; only names differ.
  for (const role of ['primary', 'unverified'] as const) {
    const suffix = role === 'unverified' ? '-unverified' : '';
    const pgpKind = `openpgp${suffix}` as const;
    if (kinds.has(pgpKind)) {
      const comment = role === 'unverified' ? UNVERIFIED_UID_COMMENT : undefined;
      jobs.push(timed(pgpKind, async () => pendingOpenPgp(await generateOpenPgpKey(options.openpgp, options.identity, sizes.openpgpRsaBits, comment), ctx, pgpKind)));
    }
    const ecKind = `ecdsa${suffix}` as const;
    if (kinds.has(ecKind)) {
      jobs.push(timed(ecKind, async () => pendingNodeKey(ecKind, await generateNodeKey({ type: 'ec', curve: options.ecdsaCurve }), ctx)));
    }
    const rsaKind = `rsa${suffix}` as const;
    if (kinds.has(rsaKind)) {
      jobs.push(
        timed(rsaKind, async () => {
          const key = await generateNodeKey({ type: 'rsa', bits: sizes.alpineRsaBits });
          return pendingNodeKey(rsaKind, key, ctx, chooseRsaKeyName(spkiDer(key), options.rsaKeyName, ctx.takenRsaNames, role));
        }),
      );
    }
  }
  if (kinds.has('ed25519')) {
    jobs.push(timed('ed25519', async () => pendingNodeKey('ed25519', await generateNodeKey({ type: 'ed25519' }), ctx)));
  }
  for (const role of ['primary', 'unverified'] as const) {
    const caKind = kindFor('x509-ca', role);
    let ca: Promise<CaSource | undefined> = Promise.resolve(activeCas[role]);
    if (kinds.has(caKind)) {
      const caJob = timed(caKind, async () => issueCa(await generateNodeKey({ type: 'rsa', bits: sizes.caRsaBits }), ctx, role));
      jobs.push(caJob);
      ca = caJob.then((pending) => caSourceOf(pending.loaded));
      // The CA's own failure is reported through caJob; don't let this derived promise go unhandled.
      ca.catch(() => undefined);
    }
    for (const type of ['rsa', 'ecdsa'] as const) {
      const leafKind = kindFor(`x509-${type}`, role);
      if (!kinds.has(leafKind)) continue;
      // Start the leaf's key pair now; only the signing step waits for the CA.
      const keyJob = generateNodeKey(type === 'rsa' ? { type: 'rsa', bits: sizes.leafRsaBits } : { type: 'ec', curve: 'P-256' });
      jobs.push(
        timed(leafKind, async () => {
          const [key, issuer] = await Promise.all([keyJob, ca]);
          if (!issuer) throw new MirrorError('KEY_ERROR', `Cannot issue the ${leafKind} certificate: there is no active ${caKind} with a private key`);
          return issueLeaf(type, key, issuer, ctx, role);
        }),
      );
    }
  }
  return Promise.all(jobs);
}
