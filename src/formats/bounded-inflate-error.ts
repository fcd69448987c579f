/** The failure of a capped decompression (bounded-inflate.ts), typed so formats can report it precisely. */
export class InflateError extends Error {
  override readonly name = 'InflateError';
  /** `limit`: the output (or what a header declares) passes the cap; `corrupt`: not a valid stream of that codec. */
  readonly kind: 'limit' | 'corrupt';
  constructor(kind: 'limit' | 'corrupt', message: string) {
    super(message);
    this.kind = kind;
  }
}
