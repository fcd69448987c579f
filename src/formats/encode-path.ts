/** Percent-encodes each segment of a decoded store path for use in an upstream URL. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
