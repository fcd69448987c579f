/**
 * `packages: keep`: a primary's package list as an object of its own. repomd.xml is answered once
 * the files it lists match their checksums, without reading primary.xml (18 MB of XML for 20,000
 * packages, seconds of parsing); the package list, which is the same upstream file stored under a
 * path naming its digest, is fetched, checked against repomd.xml's checksum and parsed when the
 * first package is asked for, and vouches for every package primary lists.
 *
 * The store path carries the digest, so a new primary under the same name is a new object, and `#`
 * (which safeHref refuses in every upstream name) keeps it apart from anything the upstream names.
 */
import { encodePath } from '../encode-path.js';
import type { ObjectRef, VouchedDigest } from '../types.js';
import type { RepomdEntry } from './repomd.js';

const MARK = '#package-list@';

export function packageListPath(primary: Pick<RepomdEntry, 'path' | 'algorithm' | 'digest'>): string {
  return `${primary.path}${MARK}${primary.algorithm}:${primary.digest}`;
}

/** The object a package's verification requires: the primary of the repomd.xml clients were served. */
export function packageListRef(primary: RepomdEntry): ObjectRef {
  return { path: packageListPath(primary), upstreamPath: encodePath(primary.path), mutable: false, contentType: 'application/octet-stream' };
}

/** What repomd.xml vouches for the package list: the primary's own checksum and size. */
export function packageListVouch(primary: RepomdEntry): VouchedDigest {
  return { path: packageListPath(primary), algorithm: primary.algorithm, digest: primary.digest, ...(primary.size !== undefined ? { size: primary.size } : {}) };
}

/** The primary path a package-list store path stands for, or undefined for any other path. */
export function primaryOfPackageList(path: string): string | undefined {
  const at = path.indexOf(MARK);
  return at > 0 ? path.slice(0, at) : undefined;
}
