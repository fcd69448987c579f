import { upstreamBaseUrl } from '../upstream-base.js';

/**
 * URLs the upstream writes into its documents, seen against its base URL: which ones are under
 * the base (so the mirror serves them) and their mirror equivalents. Credentials in the configured
 * upstream never appear in what is compared or written.
 */
export class UpstreamBase {
  /** The base without credentials, ending in "/". */
  readonly #prefix: string;

  constructor(upstream: string) {
    this.#prefix = upstreamBaseUrl(upstream).href;
  }

  /** The path of `url` relative to the base (still percent-encoded), or undefined when it is elsewhere. */
  relative(url: string): string | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return undefined;
    }
    if (parsed.search || parsed.hash || parsed.username || parsed.password) return undefined;
    const href = parsed.href;
    return href.startsWith(this.#prefix) ? href.slice(this.#prefix.length) : undefined;
  }

  /** `url` pointed at the mirror when it is under the base (a fragment is kept: registration pages use one); unchanged otherwise. */
  rewrite(url: string, repositoryUrl: string): string {
    const hash = url.indexOf('#');
    const rel = this.relative(hash === -1 ? url : url.slice(0, hash));
    return rel === undefined ? url : `${repositoryUrl}/${rel}${hash === -1 ? '' : url.slice(hash)}`;
  }
}
