/**
 * Requests a format passes to the upstream unchanged (NuGet search and autocomplete): proxied with
 * http-proxy, nothing verified, stored or signed, so nothing the mirror vouches for. The target was
 * judged by the repository's origin policy before it gets here (the upstream's own origin, or one
 * the operator allowlisted in `redirects.allow`). The client's credentials and cookies are not
 * forwarded, the upstream's cookies are not passed back, and the mirror's security headers stay.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import httpProxy from 'http-proxy';
import { MirrorError } from '../errors.js';

const PASS_THROUGH_TIMEOUT_MS = 30_000;
/** Request headers that are the client's business with the mirror, not the upstream's. */
const NOT_FORWARDED = ['authorization', 'cookie', 'proxy-authorization', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded'];

export class PassThrough {
  readonly #proxy = httpProxy.createProxyServer({
    changeOrigin: true, ignorePath: true, xfwd: false, proxyTimeout: PASS_THROUGH_TIMEOUT_MS, timeout: PASS_THROUGH_TIMEOUT_MS,
  });

  constructor() {
    this.#proxy.on('proxyReq', (proxyReq) => {
      for (const h of NOT_FORWARDED) proxyReq.removeHeader(h);
    });
    this.#proxy.on('proxyRes', (proxyRes) => {
      delete proxyRes.headers['set-cookie'];
    });
  }

  /** Proxies the request to `target` with the client's query string; resolves with the bytes sent (when announced). */
  forward(req: IncomingMessage, res: ServerResponse, target: URL, query: string, repository: string): Promise<number> {
    const url = new URL(target);
    url.search = query ? `?${query}` : '';
    return new Promise((resolve, reject) => {
      res.once('finish', () => resolve(Number(res.getHeader('content-length') ?? 0)));
      this.#proxy.web(req, res, { target: url.href }, (err) => {
        reject(new MirrorError('UPSTREAM_UNAVAILABLE', `Passing ${url.pathname} through to the upstream failed: ${err.message}`, { repository, object: url.pathname }, { cause: err }));
      });
    });
  }

  close(): void {
    this.#proxy.close();
  }
}
