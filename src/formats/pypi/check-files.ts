/**
 * What a verified project page (or JSON API document) vouches for: each file's hashes at the
 * path the mirror serves it under, and its core metadata's SHA-256. The page has no signature
 * of its own, so with `anchor: first-use` each file's first SHA-256 (and its metadata's) is
 * pinned, and a later page naming another hash for the same file name is refused for that file:
 * an index never changes a published file (file names cannot be reused), so a change means the
 * upstream or the path to it was tampered with.
 */
import type { RejectedItem, VerifyContext, VouchedDigest } from '../types.js';
import type { DistFile } from './project-page.js';
import { CHECKED_HASHES, type CheckedHash } from './project-page.js';

export interface FileCheck {
  vouches: VouchedDigest[];
  rejected: RejectedItem[];
  accepted: number;
}

/** Where the mirror serves a file of `project` that lives at `path` under the upstream base. */
export function mirrorFilePath(project: string, path: string): string {
  return `files/${project}/${path}`;
}

/** A name the core records the file's digest under so provenance can be checked against it; never served. */
export function byNamePath(project: string, fileName: string): string {
  return `by-name/${project}/${fileName}`;
}

export function checkFiles(ctx: Pick<VerifyContext, 'anchor' | 'firstUse'>, project: string, files: DistFile[]): FileCheck {
  const out: FileCheck = { vouches: [], rejected: [], accepted: 0 };
  for (const file of files) {
    const reject = (reason: string): void => void out.rejected.push({ item: file.filename || '(unnamed)', reason });
    if (!file.location.ok) {
      reject(file.location.reason);
      continue;
    }
    const sha256 = file.hashes.sha256;
    if (!sha256) {
      reject('the page gives no sha256 hash for it');
      continue;
    }
    if (ctx.anchor === 'first-use') {
      const pinned = ctx.firstUse(`pypi:${project}/${file.filename}`, Buffer.from(`sha256:${sha256}`));
      if (!pinned.ok) {
        reject(pinned.reason);
        continue;
      }
      const metadata = file.coreMetadata?.sha256;
      const metadataPin = metadata ? ctx.firstUse(`pypi:${project}/${file.filename}.metadata`, Buffer.from(`sha256:${metadata}`)) : undefined;
      if (metadataPin && !metadataPin.ok) {
        reject(metadataPin.reason);
        continue;
      }
    }
    const path = mirrorFilePath(project, file.location.path);
    for (const alg of Object.keys(CHECKED_HASHES) as CheckedHash[]) {
      const digest = file.hashes[alg];
      if (digest) out.vouches.push({ path, algorithm: alg, digest, ...(file.size !== undefined ? { size: file.size } : {}) });
    }
    out.vouches.push({ path: byNamePath(project, file.filename), algorithm: 'sha256', digest: sha256 });
    if (file.coreMetadata?.sha256) out.vouches.push({ path: `${path}.metadata`, algorithm: 'sha256', digest: file.coreMetadata.sha256 });
    out.accepted++;
  }
  return out;
}
