/**
 * Content negotiation of the simple API (PEP 691): the client's Accept header (attacker-shaped,
 * bounded) picks the JSON or the HTML serialisation; `text/html` is an alias of the v1 HTML one,
 * and `latest` means v1. Without a usable Accept, HTML, as PEP 691 recommends for old clients.
 * https://packaging.python.org/en/latest/specifications/simple-repository-api/#version-format-selection
 */
export type PageFormat = 'json' | 'html';

const FORMATS: Record<string, PageFormat> = {
  'application/vnd.pypi.simple.v1+json': 'json',
  'application/vnd.pypi.simple.latest+json': 'json',
  'application/vnd.pypi.simple.v1+html': 'html',
  'application/vnd.pypi.simple.latest+html': 'html',
  'text/html': 'html',
};

export function negotiatePage(accept: string | undefined): PageFormat {
  if (!accept) return 'html';
  let best: { format: PageFormat; q: number } | undefined;
  for (const range of accept.slice(0, 1024).split(',')) {
    const [type = '', ...params] = range.split(';').map((s) => s.trim().toLowerCase());
    const format = FORMATS[type];
    if (!format) continue;
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!(q > 0 && q <= 1)) continue;
    // The first of equal preference wins, as the client listed it.
    if (!best || q > best.q) best = { format, q };
  }
  return best?.format ?? 'html';
}
