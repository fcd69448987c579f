/**
 * The error of repository metadata that cannot be read or rewritten. The metadata itself is read
 * by a streaming XML parser (xml-stream.ts); nothing here interprets XML text.
 */
export class MetadataError extends Error {
  override readonly name = 'MetadataError';
}
