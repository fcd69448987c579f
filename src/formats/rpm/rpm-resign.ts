/**
 * Replaces an RPM's header signature with the organisation's, in place, as rpmsign --addsign
 * does (rpm-4.18 sign/rpmgensig.c): the upstream's 268/267 (and the legacy header+payload
 * 1002/1005, and rpm 6's 278) go, one new 268 (RSA) or 267 (EdDSA, DSA, ECDSA) comes in,
 * digests stay, and RESERVEDSPACE shrinks by the growth so the main header keeps its offset
 * whenever the reserve allows. dnf requires every signature on a package to verify, so the
 * upstream's must not stay beside ours.
 */
import { buildHeader, TYPE, type HeaderEntry } from './rpm-header.js';
import { LEAD_SIZE, padded8, REGION_SIGNATURES, SIGTAG, type RpmPackage } from './rpm-package.js';

const REPLACED = new Set<number>([SIGTAG.RSA, SIGTAG.DSA, SIGTAG.PGP, SIGTAG.GPG, SIGTAG.OPENPGP]);

/** OpenPGP public-key algorithm ids (RFC 9580 §9.1). */
const PK_RSA = [1, 2, 3];

/** Tag 268 for an RSA signature packet, 267 for DSA, ECDSA and EdDSA (rpm makeSigTag). */
export function signatureTag(packet: Buffer): number {
  const body = packetBody(packet);
  if (body[0] !== 4) throw new Error(`the signature packet is version ${body[0]}; RPM header signatures need v4`);
  return PK_RSA.includes(body[2] ?? -1) ? SIGTAG.RSA : SIGTAG.DSA;
}

/** The body of the first OpenPGP packet (old or new format header). */
function packetBody(packet: Buffer): Buffer {
  const first = packet[0] ?? 0;
  if ((first & 0x80) === 0) throw new Error('not an OpenPGP packet');
  if (first & 0x40) {
    const l0 = packet[1] ?? 0;
    if (l0 < 192) return packet.subarray(2, 2 + l0);
    if (l0 < 224) return packet.subarray(3, 3 + ((l0 - 192) << 8) + (packet[2] ?? 0) + 192);
    if (l0 === 255) return packet.subarray(6, 6 + packet.readUInt32BE(2));
    throw new Error('partial-length signature packets are not supported');
  }
  const lengthType = first & 3;
  if (lengthType === 0) return packet.subarray(2, 2 + (packet[1] ?? 0));
  if (lengthType === 1) return packet.subarray(3, 3 + packet.readUInt16BE(1));
  if (lengthType === 2) return packet.subarray(5, 5 + packet.readUInt32BE(1));
  throw new Error('indeterminate-length signature packets are not supported');
}

/** The package with `packet` (one binary OpenPGP signature packet over the main header) as its only signature. */
export function resignRpm(pkg: RpmPackage, packet: Buffer): Buffer {
  const kept = pkg.signature.entries.filter((e) => !REPLACED.has(e.tag) && e.tag !== SIGTAG.RESERVEDSPACE);
  const signature: HeaderEntry = { tag: signatureTag(packet), type: TYPE.BIN, count: packet.length, data: packet };
  const target = pkg.headerStart - LEAD_SIZE;
  const hadReserve = pkg.signature.entries.some((e) => e.tag === SIGTAG.RESERVEDSPACE);
  const header = hadReserve ? fitReserve([...kept, signature], target) : undefined;
  const sigHeader = header ?? buildHeader(REGION_SIGNATURES, [...kept, signature]);
  const padding = Buffer.alloc(padded8(sigHeader.length) - sigHeader.length);
  return Buffer.concat([pkg.bytes.subarray(0, LEAD_SIZE), sigHeader, padding, pkg.bytes.subarray(pkg.headerStart)]);
}

/** A signature header with a RESERVEDSPACE sized so the padded header is exactly `target` bytes, if one exists. */
function fitReserve(entries: HeaderEntry[], target: number): Buffer | undefined {
  const reserve = (size: number): HeaderEntry => ({ tag: SIGTAG.RESERVEDSPACE, type: TYPE.BIN, count: size, data: Buffer.alloc(size) });
  // The entry costs 16 index bytes plus its data; alignment of later entries can add a few more.
  const estimate = target - buildHeader(REGION_SIGNATURES, entries).length - 16;
  for (let size = estimate; size >= Math.max(1, estimate - 16); size--) {
    const built = buildHeader(REGION_SIGNATURES, [...entries, reserve(size)]);
    if (padded8(built.length) === target) return built;
  }
  return undefined;
}
