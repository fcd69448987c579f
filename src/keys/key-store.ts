/**
 * The organisation's key store: `<dataDir>/keys/` with a manifest, one private file (0600,
 * encrypted when a passphrase is set) and one public file per key. Missing kinds are
 * generated on open; rotation and import add a key and retire the previous one, revocation
 * withdraws a compromised one; each writes files first and the manifest last so an
 * interrupted change never leaves a broken store.
 */
import { performance } from 'node:perf_hooks';
import { inspect } from 'node:util';
import { MirrorError } from '../errors.js';
import { armorKeyring } from './generate-openpgp.js';
import { caSourceOf, generateKinds, isCaKind, leafKindsOf, organization, type CaSource, type CaSources, type GenerateContext, type KeySizes, type ResolvedKeyOptions } from './generate-keys.js';
import { buildImport } from './import-key.js';
import { ensureKeyDir, PRIVATE_MODE, PUBLIC_MODE, writeFileAtomic } from './key-files.js';
import type { LoadedKey, PendingKey } from './key-material.js';
import { keySizes, resolveKeyOptions } from './key-options.js';
import { isOpenPgpKind, kindFor, roleOf } from './key-roles.js';
import { loadKey, readOpenPgpSecret } from './load-key.js';
import { readManifest, writeManifest, type Manifest } from './manifest.js';
import { findPublicFile, publicInfo } from './public-info.js';
import { planRevocation, type ExtraFile } from './revocation.js';
import { reportDrift } from './report-drift.js';
import { issueServerCertificate } from './server-certificate.js';
import { makeEcdsaSigner, makeEd25519Signer, makeOpenPgpSigner, makeRsaSigner, makeX509LeafSigner, type UsableCheck } from './signers.js';
import {
  KEY_KINDS,
  type EcdsaSigner, type Ed25519Signer, type ImportOptions, type IssuedServerCertificate, type KeyKind, type KeyOptions,
  type KeyRole, type KeyStore, type OpenPgpSigner, type PublicFile, type PublicKeyInfo, type RsaSigner, type X509LeafSigner, type X509LeafType,
} from './types.js';

export interface KeyLogger {
  info(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
}

export interface OpenKeyStoreOptions {
  dir: string;
  passphrase?: string;
  options?: KeyOptions;
  logger?: KeyLogger;
  /** Where COUNTERSIGN_TEST_FAST_KEYS is read from; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /**
   * Public halves only, for a process that never signs (a worker of `listen.workers`): no private
   * file is read, nothing is generated (the keys must exist: the primary made them), and every
   * signer refuses with KEY_ERROR.
   */
  publicOnly?: boolean;
}

const KIND_ORDER = new Map(KEY_KINDS.map((k, i) => [k, i]));

const STATUS_ORDER = { active: 0, retired: 1, revoked: 2 } as const;

/** Active, then retired, then revoked, newest first, within each kind in KEY_KINDS order. */
function byKindStatusAge(a: LoadedKey, b: LoadedKey): number {
  const ra = a.record;
  const rb = b.record;
  return (KIND_ORDER.get(ra.kind)! - KIND_ORDER.get(rb.kind)!) || STATUS_ORDER[ra.status] - STATUS_ORDER[rb.status] || rb.createdAt.localeCompare(ra.createdAt);
}

/** Replaces loaded keys in a commit: what revocation does to the revoked keys' records. */
type Revise = (key: LoadedKey) => LoadedKey;


const MAX_REASON = 200;

/** The reason is published (manifest, /-/keys, the OpenPGP revocation): one short plain line. */
function checkReason(reason: string | undefined): string | undefined {
  if (reason === undefined || reason.trim() === '') return undefined;
  // eslint-disable-next-line no-control-regex
  if (reason.length > MAX_REASON || /[\u0000-\u001f\u007f]/.test(reason)) {
    throw new MirrorError('KEY_ERROR', `The revocation reason must be one line of at most ${MAX_REASON} characters`);
  }
  return reason.trim();
}

function assertKind(kind: KeyKind): void {
  if (!KEY_KINDS.includes(kind)) throw new MirrorError('KEY_ERROR', `Unknown key kind "${String(kind)}" (known: ${KEY_KINDS.join(', ')})`);
}

class FileKeyStore implements KeyStore {
  readonly #dir: string;
  readonly #passphrase: string | undefined;
  readonly #options: ResolvedKeyOptions;
  readonly #sizes: KeySizes;
  readonly #log: KeyLogger;
  #keys: LoadedKey[];
  #keyrings: Record<KeyRole, string> = { primary: '', unverified: '' };
  #queue: Promise<unknown> = Promise.resolve();

  constructor(dir: string, passphrase: string | undefined, options: ResolvedKeyOptions, sizes: KeySizes, log: KeyLogger, keys: LoadedKey[]) {
    this.#dir = dir;
    this.#passphrase = passphrase;
    this.#options = options;
    this.#sizes = sizes;
    this.#log = log;
    this.#keys = keys.sort(byKindStatusAge);
    this.#rebuildKeyring();
  }

  list(): PublicKeyInfo[] {
    return this.#keys.map(publicInfo);
  }

  activeKeyId(kind: KeyKind): string {
    return this.#active(kind).record.id;
  }

  openpgpSigner(role: KeyRole = 'primary'): OpenPgpSigner {
    return this.#signer(makeOpenPgpSigner, this.#active(kindFor('openpgp', role)));
  }

  openpgpPublicArmored(role: KeyRole = 'primary'): string {
    return this.#keyrings[roleOf(kindFor('openpgp', role))];
  }

  cosignPublicPem(role: KeyRole = 'primary'): string {
    return this.#active(kindFor('ecdsa', role)).publicText;
  }

  rsaPublic(role: KeyRole = 'primary'): { fileName: string; pem: string } {
    const key = this.#active(kindFor('rsa', role));
    return { fileName: `${key.record.rsaKeyName}.rsa.pub`, pem: key.publicText };
  }

  caPem(role: KeyRole = 'primary'): string {
    return this.#active(kindFor('x509-ca', role)).publicText;
  }

  caBundlePem(role: KeyRole = 'primary'): string {
    const kind = kindFor('x509-ca', role);
    // A revoked CA leaves the bundle: whatever it (or a thief) issued must stop chaining.
    return this.#keys.filter((k) => k.record.kind === kind && k.record.status !== 'revoked').map((k) => k.publicText).join('');
  }

  ecdsaSigner(role: KeyRole = 'primary'): EcdsaSigner {
    return this.#signer(makeEcdsaSigner, this.#active(kindFor('ecdsa', role)));
  }

  ed25519Signer(): Ed25519Signer {
    return this.#signer(makeEd25519Signer, this.#active('ed25519'));
  }

  rsaSigner(role: KeyRole = 'primary'): RsaSigner {
    return this.#signer(makeRsaSigner, this.#active(kindFor('rsa', role)));
  }

  x509Leaf(type: X509LeafType, role: KeyRole = 'primary'): X509LeafSigner {
    return this.#signer(makeX509LeafSigner, this.#active(kindFor(`x509-${type}`, role)));
  }

  exportPublic(kind: KeyKind, id?: string): string {
    assertKind(kind);
    if (id === undefined) return isOpenPgpKind(kind) ? this.#keyrings[roleOf(kind)] : this.#active(kind).publicText;
    // By explicit id a revoked key's public half is still available (the npm keys document
    // lists it to expire it, and operators inspect it), but nothing serves it under /-/keys/.
    const key = this.#keys.find((k) => k.record.kind === kind && k.record.id === id);
    if (!key) throw new MirrorError('KEY_ERROR', `There is no ${kind} key with id ${id}`, { kind, keyId: id });
    return key.publicText;
  }

  publicFile(name: string): PublicFile | undefined {
    return findPublicFile(this.#keys, name, this.#keyrings);
  }

  issueServerCertificate(hosts: string[]): Promise<IssuedServerCertificate> {
    return issueServerCertificate(hosts, this.#caSource(), organization(this.#options.identity));
  }

  rotate(kind: KeyKind): Promise<PublicKeyInfo> {
    return this.#exclusive(async () => {
      assertKind(kind);
      // A new CA must not leave the active leaves chained to the retired one.
      const kinds: KeyKind[] = isCaKind(kind) ? [kind, ...leafKindsOf(roleOf(kind))] : [kind];
      const pending = await generateKinds(new Set(kinds), this.#context('generated'), this.#caSources());
      return this.#commitReplacing(kind, pending, kinds, 'rotated');
    });
  }

  revoke(kind: KeyKind, id?: string, reasonText?: string): Promise<PublicKeyInfo> {
    return this.#exclusive(async () => {
      assertKind(kind);
      const reason = checkReason(reasonText);
      const target = id === undefined ? this.#active(kind) : this.#keys.find((k) => k.record.kind === kind && k.record.id === id);
      if (!target) throw new MirrorError('KEY_ERROR', `There is no ${kind} key with id ${id}`, { kind, keyId: id });
      const { record } = target;
      if (record.status === 'revoked') throw new MirrorError('KEY_ERROR', `The ${kind} key ${record.id} is already revoked (${record.revokedAt})`, { kind, keyId: record.id });
      const plan = await planRevocation(this.#keys, target, reason, new Date(), (r) => readOpenPgpSecret(this.#dir, r, this.#passphrase));
      // Replacements come first, as in rotate, so no kind goes without an active key. Leaves
      // re-issued without a new CA come from the active one (never the revoked CA: it is not active).
      const pending = plan.replace.length > 0 ? await generateKinds(new Set(plan.replace), this.#context('generated'), this.#caSources()) : [];
      await this.#commit(pending, plan.replace, (k) => plan.revised.get(k) ?? k, plan.extra);
      this.#log.info(
        { kind, id: record.id, alsoRevoked: [...plan.revised.values()].map((k) => k.record.id).filter((x) => x !== record.id), replacedBy: pending.map((p) => p.loaded.record.id), reason },
        `revoked ${kind} key`,
      );
      return publicInfo(plan.revoked);
    });
  }

  importKey(kind: KeyKind, material: string, opts: ImportOptions = {}): Promise<PublicKeyInfo> {
    return this.#exclusive(async () => {
      assertKind(kind);
      const ctx = this.#context('imported');
      const pending = [await buildImport(kind, material, opts.passphrase, ctx, this.#caSources()[roleOf(kind)])];
      const { id } = pending[0]!.loaded.record;
      const existing = this.#keys.find((k) => k.record.id === id);
      if (existing) throw new MirrorError('KEY_ERROR', `Cannot import the ${kind} key: key ${id} is already in the store (${existing.record.status})`, { kind, keyId: id });
      const kinds: KeyKind[] = [kind];
      if (isCaKind(kind)) {
        const leaves = leafKindsOf(roleOf(kind));
        pending.push(...(await generateKinds(new Set<KeyKind>(leaves), this.#context('generated'), { [roleOf(kind)]: caSourceOf(pending[0]!.loaded) })));
        kinds.push(...leaves);
      }
      return this.#commitReplacing(kind, pending, kinds, 'imported');
    });
  }

  toJSON(): object {
    return { dir: this.#dir, keys: this.list() };
  }

  [inspect.custom](): string {
    return `KeyStore ${inspect({ dir: this.#dir, keys: this.#keys.map((k) => `${k.record.kind} ${k.record.id} (${k.record.status})`) })}`;
  }

  /** Generates every kind that has no active key (all of them on first start). */
  async generateMissing(): Promise<void> {
    const missing = KEY_KINDS.filter((kind) => !this.#keys.some((k) => k.record.kind === kind && k.record.status === 'active'));
    if (missing.length === 0) return;
    const started = performance.now();
    this.#log.info({ dir: this.#dir, kinds: missing, sizes: this.#sizes }, 'generating organisation keys (RSA 4096 takes a few seconds)');
    const pending = await generateKinds(new Set(missing), this.#context('generated'), this.#caSources());
    await this.#commit(pending, []);
    this.#log.info({ dir: this.#dir, keys: pending.map((p) => p.loaded.record.id), ms: Math.round(performance.now() - started) }, 'generated organisation keys');
  }

  /** Notes where the store differs from what the configuration now asks for. */
  reportDrift(): void {
    reportDrift(this.#keys, this.#dir, this.#passphrase !== undefined, this.#options, this.#log);
  }

  #active(kind: KeyKind): LoadedKey {
    const key = this.#keys.find((k) => k.record.kind === kind && k.record.status === 'active');
    if (!key) throw new MirrorError('KEY_ERROR', `There is no active ${kind} key`, { kind });
    return key;
  }

  /** A signer that refuses to sign once its key is revoked (see UsableCheck). */
  #signer<T>(make: (key: LoadedKey, usable: UsableCheck) => T, key: LoadedKey): T {
    const { id, kind } = key.record;
    return make(key, () => {
      const now = this.#keys.find((k) => k.record.id === id);
      if (now?.record.status === 'revoked') throw new MirrorError('KEY_ERROR', `The ${kind} key ${id} is revoked and signs nothing`, { kind, keyId: id });
    });
  }

  #caSource(role: KeyRole = 'primary'): CaSource {
    return caSourceOf(this.#active(kindFor('x509-ca', role)));
  }

  /** The active CA of each role that has one (leaves are issued by the CA of their own role). */
  #caSources(): CaSources {
    const sources: CaSources = {};
    for (const role of ['primary', 'unverified'] as const) {
      if (this.#keys.some((k) => k.record.kind === kindFor('x509-ca', role) && k.record.status === 'active')) sources[role] = this.#caSource(role);
    }
    return sources;
  }

  #context(source: 'generated' | 'imported'): GenerateContext {
    const takenRsaNames = new Set(this.#keys.flatMap((k) => (k.record.rsaKeyName ? [k.record.rsaKeyName] : [])));
    return {
      passphrase: this.#passphrase, source, now: new Date(), options: this.#options, sizes: this.#sizes, takenRsaNames,
      log: (obj, msg) => this.#log.info(obj, msg),
    };
  }

  #exclusive<T>(run: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #commitReplacing(kind: KeyKind, pending: PendingKey[], retire: KeyKind[], verb: string): Promise<PublicKeyInfo> {
    const before = retire.map((k) => this.#keys.find((x) => x.record.kind === k && x.record.status === 'active')?.record.id);
    await this.#commit(pending, retire);
    const key = pending.find((p) => p.loaded.record.kind === kind)!.loaded;
    this.#log.info({ kind, id: key.record.id, algorithm: key.record.algorithm, retired: before.filter(Boolean) }, `${verb} ${kind} key`);
    return publicInfo(key);
  }

  async #commit(pending: PendingKey[], retire: KeyKind[], revise: Revise = (k) => k, extra: ExtraFile[] = []): Promise<void> {
    await Promise.all([
      ...pending.flatMap(({ loaded, privateText }) => [
        writeFileAtomic(this.#dir, loaded.record.files.private, privateText, PRIVATE_MODE),
        writeFileAtomic(this.#dir, loaded.record.files.public, loaded.publicText, PUBLIC_MODE),
      ]),
      ...extra.map((f) => writeFileAtomic(this.#dir, f.name, f.text, PUBLIC_MODE)),
    ]);
    const retiredAt = new Date().toISOString();
    const retireRecord = (k: LoadedKey): LoadedKey =>
      retire.includes(k.record.kind) && k.record.status === 'active'
        ? { ...k, record: { ...k.record, status: 'retired', retiredAt }, secret: undefined }
        : k;
    const keys = [...this.#keys.map((k) => retireRecord(revise(k))), ...pending.map((p) => p.loaded)];
    const manifest: Manifest = { version: 1, keys: keys.map((k) => k.record) };
    // The manifest is the commit point: until it is renamed into place the new files are unused.
    await writeManifest(this.#dir, manifest);
    this.#keys = keys.sort(byKindStatusAge);
    this.#rebuildKeyring();
  }

  /** One keyring per role: a client trusting the primary keyring must never get an unverified key. */
  #rebuildKeyring(): void {
    for (const role of ['primary', 'unverified'] as const) {
      const keys = this.#keys.filter((k) => k.record.kind === kindFor('openpgp', role) && k.openpgpPublic).map((k) => k.openpgpPublic!);
      this.#keyrings[role] = keys.length > 0 ? armorKeyring(keys) : '';
    }
  }
}

export async function openKeyStore(opts: OpenKeyStoreOptions): Promise<KeyStore> {
  const log: KeyLogger = opts.logger ?? { info: () => undefined };
  const passphrase = opts.passphrase === '' ? undefined : opts.passphrase;
  const options = resolveKeyOptions(opts.options);
  const sizes = keySizes(opts.env ?? process.env, (obj, msg) => (log.warn ?? log.info).call(log, obj, msg));
  await ensureKeyDir(opts.dir);
  const manifest = (await readManifest(opts.dir)) ?? { version: 1 as const, keys: [] };
  const keys = await Promise.all(manifest.keys.map((record) => loadKey(opts.dir, record, passphrase, { publicOnly: opts.publicOnly === true })));
  const store = new FileKeyStore(opts.dir, passphrase, options, sizes, log, keys);
  if (opts.publicOnly) return store;
  await store.generateMissing();
  store.reportDrift();
  return store;
}
