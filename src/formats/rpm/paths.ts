/** Which repository paths RPM metadata may name, and how metadata files are told apart. */

/** A repository-relative path from an href, or undefined when it leaves the repository (absolute, "..", a URL). */
export function safeHref(href: string): string | undefined {
  if (href === '' || href.length > 1024 || href.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(href)) return undefined;
  if (/[\0\\?#]/.test(href) || /[\u0000-\u001f\u007f]/.test(href)) return undefined;
  const segments = href.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return href;
}

export type DerivedMetadataType = 'primary' | 'filelists' | 'other';

const DERIVED_NAME = /(?:^|\/|-)(primary|filelists|other)\.xml(?:\.(?:gz|xz|zst|bz2))?$/;

/** primary/filelists/other by file name (createrepo_c names them `[<digest>-]<type>.xml[.<compression>]`). */
export function derivedTypeOf(path: string): DerivedMetadataType | undefined {
  return DERIVED_NAME.exec(path)?.[1] as DerivedMetadataType | undefined;
}

/** Where the mirror serves its gzip rewrite of a metadata file: the same name if it already was gzip. */
export function servedMetadataPath(upstreamPath: string): string {
  return upstreamPath.endsWith('.gz') ? upstreamPath : `${upstreamPath}.gz`;
}

/** A file name that starts with the file's own digest (unique_md_filenames) never changes content. */
export function isContentAddressed(path: string): boolean {
  return /(?:^|\/)[0-9a-f]{32,128}-[^/]+$/.test(path);
}
