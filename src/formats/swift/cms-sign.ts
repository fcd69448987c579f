/**
 * The one kind of signature Swift clients read (SE-0391 `cms-1.0.0`, SwiftPM's
 * SignatureProvider): detached CMS, no signed attributes, ECDSA P-256 leaf with the codeSigning
 * EKU, chain included. Made by the signing ledger, which picks the org leaf by the role the
 * object's verification earns (unverified content: a leaf of the separate unverified CA).
 */
import type { DeriveContext, MadeSignature } from '../types.js';

export const SIGNATURE_FORMAT = 'cms-1.0.0';

export function signCms(ctx: DeriveContext, object: string, data: Buffer): Promise<MadeSignature> {
  return ctx.sign({ scheme: 'cms', object, data, cms: { leaf: 'ecdsa', detached: true, signedAttributes: 'none' } });
}
