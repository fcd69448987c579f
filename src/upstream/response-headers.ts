/** Reading undici response headers, which may be repeated (string[]) or absent. */
import type { Dispatcher } from 'undici';

export type ResponseHeaders = Dispatcher.ResponseData['headers'];

export function header(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function validatorsOf(headers: ResponseHeaders): { etag?: string; lastModified?: string } {
  const out: { etag?: string; lastModified?: string } = {};
  const etag = header(headers, 'etag');
  const lastModified = header(headers, 'last-modified');
  if (etag !== undefined) out.etag = etag;
  if (lastModified !== undefined) out.lastModified = lastModified;
  return out;
}
