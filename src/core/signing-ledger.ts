/**
 * The signing ledger: every signature the mirror makes goes through `sign`. It decides which
 * org key may sign from the verification record of the object the signature vouches for, under
 * the repository's trust epoch of today:
 * - verified under today's epoch, by an anchor the operator vouches for → the primary key;
 * - not verified (or a refused part of it), in a `warn`/`off` repository → the separately
 *   published *unverified* key, so a primary signature always means verified;
 * - anything else (a record from another epoch, unverified bytes under `require`) → refused.
 * Each signature is logged (signature_log) and counted; ECDSA message signatures (also those inside
 * CMS) are cached.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { isMirrorError, MirrorError } from '../errors.js';
import type { MadeSignature, SignRequest, VerificationRecord, VerifyMode } from '../formats/types.js';
import { kindFor } from '../keys/key-roles.js';
import type { KeyRole, KeyStore } from '../keys/types.js';
import type { Metrics } from '../observability/metrics.js';
import { cmsSign } from '../signing/cms-sign.js';
import type { IndexStore } from '../store/types.js';

/** What a repository trusts today (see trust-epoch.ts). */
export interface RepositoryTrust {
  repository: string;
  mode: VerifyMode;
  epoch: string;
}

/** A request the core makes itself: a detached signature streamed over a stored blob. */
export interface StreamSignRequest {
  scheme: 'openpgp-detached';
  object: string;
  data: Readable;
  /** SHA-256 of the streamed bytes, for the log. */
  subjectSha256: string;
}

export class SigningLedger {
  readonly #keys: KeyStore;
  readonly #index: IndexStore;
  readonly #metrics: Metrics;

  constructor(keys: KeyStore, index: IndexStore, metrics: Metrics) {
    this.#keys = keys;
    this.#index = index;
    this.#metrics = metrics;
  }

  /**
   * The org key role that may sign for `record` (or its part `item`) today, or the refusal. A
   * record whose part `item` was refused is treated as unverified for that part.
   */
  role(trust: RepositoryTrust, record: VerificationRecord, object: string, item?: string, unverifiedInputs = false): KeyRole {
    if (record.epoch !== trust.epoch) {
      throw this.#refused(trust, object, 'it was verified under trust that is no longer configured (mode, keys or upstream changed)');
    }
    const partRefused = item !== undefined && (record.rejected ?? []).some((r) => r.item === item);
    if (this.vouches(trust, record) && !partRefused && !unverifiedInputs) return 'primary';
    if (trust.mode === 'require') {
      const why = partRefused ? `${item} did not verify`
        : record.status !== 'verified' ? `it did not verify (${record.reason ?? 'no reason recorded'})`
          : unverifiedInputs ? 'it is made from something that did not verify'
            : 'nothing the operator pinned vouches for it';
      throw this.#refused(trust, object, why);
    }
    return 'unverified';
  }

  /** Whether the primary key may vouch for what this record verified (today's epoch, verified, anchored). */
  vouches(trust: RepositoryTrust, record: VerificationRecord): boolean {
    return record.epoch === trust.epoch && record.status === 'verified' && record.anchor !== 'none';
  }

  /**
   * `unverifiedInputs`: the signed bytes are made from something that did not verify (a view built
   * on another view marked unverified), so the primary key may not sign them whatever `record` says.
   */
  async sign(
    trust: RepositoryTrust, record: VerificationRecord, request: SignRequest | StreamSignRequest, options: { unverifiedInputs?: boolean } = {},
  ): Promise<MadeSignature> {
    const role = this.role(trust, record, request.object, 'item' in request ? request.item : undefined, options.unverifiedInputs);
    let made: MadeSignature & { reused?: boolean };
    try {
      made = await this.#make(role, request);
    } catch (err) {
      if (isMirrorError(err)) throw err;
      throw new MirrorError('KEY_ERROR', `Signing ${request.object} failed: ${(err as Error).message}`, { repository: trust.repository, object: request.object }, { cause: err });
    }
    // A signature made before for the same key and message is not issued again: logged once.
    if (made.reused) return { keyId: made.keyId, role: made.role, signature: made.signature };
    this.#index.logSignature({
      repository: trust.repository, object: request.object, subjectSha256: subjectDigest(request), keyId: made.keyId, kind: request.scheme,
      signatureSha256: createHash('sha256').update(made.signature).digest('hex'), at: Date.now(),
    });
    this.#metrics.signatures.inc({ repository: trust.repository, kind: request.scheme, role });
    return made;
  }

  /**
   * What bytes derived with signatures depend on besides their subject: the ids of every key that
   * may sign (both roles), the trust epoch, and the caller's own `parts`. Derived bytes are cached
   * under it, so a rotation, a revocation or a trust change makes them anew.
   */
  cacheKey(trust: RepositoryTrust, ...parts: string[]): string {
    const roles: KeyRole[] = ['primary', 'unverified'];
    // Ids only: a worker (listen.workers) holds no private key and finds the same stored signatures.
    const ids = roles.map((r) => (['openpgp', 'ecdsa', 'rsa', 'x509-rsa', 'x509-ecdsa'] as const).map((f) => this.#keys.activeKeyId(kindFor(f, r))).join(','));
    return createHash('sha256').update([...ids, trust.epoch, ...parts].join('|')).digest('hex').slice(0, 32);
  }

  async #make(role: KeyRole, request: SignRequest | StreamSignRequest): Promise<MadeSignature & { reused?: boolean }> {
    const { scheme, data } = request;
    switch (scheme) {
      case 'openpgp-detached': {
        const signer = this.#keys.openpgpSigner(role);
        const input = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
        return { keyId: signer.id, role, signature: Buffer.from(await signer.signDetached(input), 'utf8') };
      }
      case 'openpgp-cleartext': {
        const signer = this.#keys.openpgpSigner(role);
        return { keyId: signer.id, role, signature: Buffer.from(await signer.signCleartext(text(data)), 'utf8') };
      }
      case 'openpgp-binary': {
        const signer = this.#keys.openpgpSigner(role);
        return { keyId: signer.id, role, signature: Buffer.from(await signer.signDetachedBinary(bytes(data), { deterministic: true })) };
      }
      case 'ecdsa': {
        const signer = this.#keys.ecdsaSigner(role);
        const message = bytes(data);
        const messageSha256 = createHash('sha256').update(message).digest('hex');
        // ECDSA signatures are randomised; one per (key, message) keeps served documents stable.
        const cached = this.#index.getCachedSignature(signer.id, messageSha256);
        if (cached) return { keyId: signer.id, role, signature: cached, reused: true };
        const signature = signer.sign(message);
        this.#index.putCachedSignature(signer.id, messageSha256, signature);
        return { keyId: signer.id, role, signature };
      }
      case 'rsa-sha1':
      case 'rsa-sha256':
      case 'rsa-sha512': {
        const signer = this.#keys.rsaSigner(role);
        const hash = scheme.slice(4) as 'sha1' | 'sha256' | 'sha512';
        return { keyId: signer.id, role, signature: signer.sign(bytes(data), hash), keyFileName: signer.fileName };
      }
      case 'cms':
        return this.#cms(role, request as SignRequest);
      default:
        return assertNever(scheme);
    }
  }

  async #cms(role: KeyRole, request: SignRequest): Promise<MadeSignature> {
    const options = request.cms;
    if (!options) throw new MirrorError('INTERNAL', `A cms signature of ${request.object} needs its cms options`);
    const leaf = this.#keys.x509Leaf(options.leaf, role);
    const signMessage = (message: Buffer): Buffer => {
      if (options.leaf === 'rsa') return leaf.sign(message, 'sha256'); // PKCS#1 v1.5 is deterministic
      // ECDSA is randomised; one signature per (leaf, message) keeps served bytes stable.
      const messageSha256 = createHash('sha256').update(message).digest('hex');
      const cached = this.#index.getCachedSignature(leaf.id, messageSha256);
      if (cached) return cached;
      const signature = leaf.sign(message, 'sha256');
      this.#index.putCachedSignature(leaf.id, messageSha256, signature);
      return signature;
    };
    let signature: Buffer;
    try {
      signature = await cmsSign({ chainDer: leaf.chainDer, keyType: options.leaf, signMessage }, bytes(request.data), options);
    } catch (err) {
      if (isMirrorError(err)) throw err;
      // Bad input (a countersigned ContentInfo that does not parse) is the format's to prevent; say what failed.
      throw new MirrorError('SIGNING_REFUSED', `Cannot make the CMS signature of ${request.object}: ${(err as Error).message}`, { object: request.object }, { cause: err });
    }
    return { keyId: leaf.id, role, signature, certificates: leaf.chainDer.map((c) => Buffer.from(c)) };
  }

  #refused(trust: RepositoryTrust, object: string, why: string): MirrorError {
    return new MirrorError('SIGNING_REFUSED', `Refused to sign ${object}: ${why}`, { repository: trust.repository, object });
  }
}

function subjectDigest(request: SignRequest | StreamSignRequest): string {
  if ('subjectSha256' in request) return request.subjectSha256;
  return createHash('sha256').update(request.data).digest('hex');
}

function bytes(data: Buffer | string | Readable): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  throw new MirrorError('INTERNAL', 'This signature scheme signs bytes in memory, not a stream');
}

function text(data: Buffer | string | Readable): string {
  return typeof data === 'string' ? data : bytes(data).toString('utf8');
}

function assertNever(value: never): never {
  throw new MirrorError('INTERNAL', `Unknown signature scheme ${JSON.stringify(value)}`);
}
