/**
 * `signatures: combined`: one armored detached-signature file holding the author's signature
 * packets (as the upstream served them, verified) followed by the org's. gpg and Gradle read
 * every signature packet in the file (RFC 4880 §11.4: a detached signature is one or more
 * Signature packets). The author's bytes were verified before they reach here, but are still
 * upstream-shaped: only their signature packets are kept, re-armored.
 */
import * as openpgp from 'openpgp';

export async function combineSignatures(author: Buffer, org: Buffer): Promise<Buffer> {
  const authorSig = await readSignature(author);
  const orgSig = await readSignature(org);
  const packets = new openpgp.PacketList<openpgp.SignaturePacket>();
  for (const p of authorSig.packets) packets.push(p);
  for (const p of orgSig.packets) packets.push(p);
  return Buffer.from(new openpgp.Signature(packets).armor(), 'utf8');
}

async function readSignature(bytes: Buffer): Promise<openpgp.Signature> {
  const armored = bytes.subarray(0, 64).toString('latin1').includes('-----BEGIN PGP SIGNATURE');
  return armored
    ? openpgp.readSignature({ armoredSignature: bytes.toString('utf8') })
    : openpgp.readSignature({ binarySignature: new Uint8Array(bytes) });
}
