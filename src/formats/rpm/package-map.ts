/**
 * The mirror's own record of what it serves for each package a primary lists: upstream pkgid →
 * re-signed file (digest, size, header range). It is a derived view like any other, so it is made
 * once per upstream primary and signing key, and filelists/other/primary rewrites all read the
 * same one: the three files and the packages always agree.
 */
import { createHash } from 'node:crypto';
import { parseRpm } from './rpm-package.js';
import type { PrimaryPackage, ResignedPackage } from './primary.js';

export function describeResigned(pkg: PrimaryPackage, bytes: Buffer): ResignedPackage {
  const parsed = parseRpm(bytes);
  return {
    pkgid: pkg.pkgid,
    path: pkg.path,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    headerStart: parsed.headerStart,
    headerEnd: parsed.payloadStart,
  };
}

export function encodePackageMap(list: ResignedPackage[]): Buffer {
  return Buffer.from(JSON.stringify({ packages: list }));
}

export function decodePackageMap(bytes: Buffer): Map<string, ResignedPackage> {
  const doc = JSON.parse(bytes.toString('utf8')) as { packages: ResignedPackage[] };
  return new Map(doc.packages.map((p) => [p.pkgid, p]));
}
