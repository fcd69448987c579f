/**
 * Just enough XML for createrepo metadata (https://github.com/rpm-software-management/createrepo_c
 * writes it; the schema is in rpm-metadata/). The documents are rewritten as text so every byte
 * the mirror does not change stays as the upstream signed it. Upstream bytes are
 * attacker-controlled: constructs a simple scanner could be fooled by (comments, CDATA, DTDs,
 * entity declarations) are refused rather than interpreted.
 */

export class MetadataError extends Error {
  override readonly name = 'MetadataError';
}

/** Refuses markup this scanner does not model; `<?xml …?>` at the start is the only declaration allowed. */
export function assertPlainXml(text: string, what: string): void {
  const body = text.startsWith('<?xml') ? text.slice(text.indexOf('?>') + 2) : text;
  if (body.includes('<!') || body.includes('<?')) throw new MetadataError(`${what} uses XML constructs (comments, CDATA, DTD or processing instructions) the mirror does not accept`);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    const v = ENTITIES[e];
    if (v === undefined) throw new MetadataError(`unknown XML entity ${m}`);
    return v;
  });
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Attributes of one start tag's attribute text (`a="1" b='2'`), unescaped. */
export function attributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/([A-Za-z_][\w:.-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/g)) {
    out.set(m[1]!, unescapeXml(m[2] ?? m[3] ?? ''));
  }
  return out;
}

/** Every `<name …>…</name>` element (not nested in itself) with its attribute text, inner text and position. */
export function* elements(text: string, name: string): Generator<{ start: number; end: number; attrs: string; inner: string }> {
  const re = new RegExp(`<${name}(\\s[^>]*)?>([\\s\\S]*?)</${name}>`, 'g');
  for (const m of text.matchAll(re)) yield { start: m.index, end: m.index + m[0].length, attrs: m[1] ?? '', inner: m[2] ?? '' };
}

/** The first `<name …/>` or `<name …>text</name>` inside `text`. */
export function firstElement(text: string, name: string): { start: number; end: number; attrs: string; inner?: string } | undefined {
  const re = new RegExp(`<${name}(\\s[^>]*?)?(?:/>|>([^<]*)</${name}>)`);
  const m = re.exec(text);
  if (!m) return undefined;
  return { start: m.index, end: m.index + m[0].length, attrs: m[1] ?? '', ...(m[2] !== undefined ? { inner: m[2] } : {}) };
}

/** Replaces spans (non-overlapping, any order) of `text`. */
export function splice(text: string, edits: { start: number; end: number; with: string }[]): string {
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const e of sorted) {
    if (e.start < at) throw new MetadataError('overlapping edits');
    out += text.slice(at, e.start) + e.with;
    at = e.end;
  }
  return out + text.slice(at);
}
