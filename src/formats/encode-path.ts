/**
 * Percent-encodes each segment of a decoded store path for use in an upstream URL, leaving
 * the characters RFC 3986 allows in a segment as they are (registries expect a literal "@").
 */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/%(40|3A|2B|2C|3B|3D|24|26)/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))))
    .join('/');
}
