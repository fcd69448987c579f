/**
 * tags/list paging as a registry that implements it answers (CNCF distribution 3: tags in lexical
 * order after `last`, at most `n` and at most its own page limit, a `Link: <…>; rel="next"` while
 * more remain), in front of Debian's docker-registry 2.8, which ignores n and last. The tags come
 * from the real registry; only the paging is done here.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-tags
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const TAGS_LIST = /^\/v2\/(.+)\/tags\/list$/;

export async function answerTagsPage(req: IncomingMessage, res: ServerResponse, backendHost: string, maxPage: number): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://front');
  const upstream = await fetch(`http://${backendHost}${url.pathname}`);
  if (upstream.status !== 200) {
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await upstream.arrayBuffer()));
    return;
  }
  const doc = (await upstream.json()) as { name: string; tags: string[] | null };
  const last = url.searchParams.get('last');
  const n = url.searchParams.has('n') ? Number(url.searchParams.get('n')) : Infinity;
  const after = (doc.tags ?? []).sort().filter((t) => last === null || t > last);
  const page = after.slice(0, Math.min(n, maxPage));
  const headers: Record<string, string> = { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' };
  if (page.length < after.length) {
    const next = new URLSearchParams({ n: String(Math.min(n, maxPage)), last: page[page.length - 1]! });
    headers.link = `<${url.pathname}?${next.toString()}>; rel="next"`;
  }
  const body = JSON.stringify({ name: doc.name, tags: page });
  res.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
