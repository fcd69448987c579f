/**
 * What kind of signatures a package carries, read leniently (no cryptography): whether its
 * primary signature is an author's or a repository's, and which countersignatures are a
 * repository's. The re-signing decision needs this even for signatures that did not verify
 * (verify: warn), so it must not depend on them verifying. Attacker-controlled DER.
 */
import { oidDer } from '../../signing/cms-attributes.js';
import { countersignatures, parseSignedData } from '../../signing/cms-countersign.js';
import { children, readElement, type DerElement } from '../../signing/cms-der.js';
import { NUGET_OID } from './nuget-attributes.js';
import type { SignatureType } from './signature-check.js';

/** The signature type a SignerInfo's commitment-type-indication declares. */
export function declaredType(signerFields: DerElement[]): SignatureType {
  const signedAttrs = signerFields.find((f) => f.tag === 0xa0);
  if (!signedAttrs) return 'unknown';
  const types = new Set<SignatureType>();
  for (const attribute of children(signedAttrs.contents)) {
    const [type, values] = children(attribute.contents);
    if (!type?.raw.equals(oidDer(NUGET_OID.commitmentTypeIndication)) || !values) continue;
    for (const value of children(values.contents)) {
      const [id] = children(value.contents);
      types.add(id?.raw.equals(oidDer(NUGET_OID.proofOfOrigin)) ? 'author' : id?.raw.equals(oidDer(NUGET_OID.proofOfReceipt)) ? 'repository' : 'unknown');
    }
  }
  return types.size === 1 ? [...types][0]! : 'unknown';
}

export interface DeclaredTypes {
  primary: SignatureType;
  countersignatures: SignatureType[];
}

/** Undefined when the bytes are not a SignedData with one signer at all. */
export function declaredTypes(p7s: Buffer): DeclaredTypes | undefined {
  try {
    const parts = parseSignedData(p7s);
    return {
      primary: declaredType([...parts.signerHead, parts.signature]),
      countersignatures: countersignatures(parts).map((der) => declaredType(children(readElement(der).contents))),
    };
  } catch {
    return undefined;
  }
}

/** A countersignature SignerInfo (DER) that declares itself a repository's. */
export function isRepositoryCountersignature(signerInfo: Buffer): boolean {
  try {
    return declaredType(children(readElement(signerInfo).contents)) === 'repository';
  } catch {
    return false;
  }
}
