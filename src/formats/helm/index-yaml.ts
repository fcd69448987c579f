/**
 * A chart repository's index.yaml (https://helm.sh/docs/topics/chart_repository/#the-index-file,
 * helm/helm pkg/repo/index.go): `apiVersion: v1`, `entries: {<name>: [<chart version>…]}` with
 * `digest` (sha256 hex of the .tgz) and `urls`, and `generated`. It is not signed.
 *
 * The bytes are attacker-controlled: parsed with the `yaml` package (duplicate keys refused, a URL
 * that is not a plain string refused, so an alias cannot smuggle one past the rewrite). The served
 * index is the upstream text with only each URL scalar replaced in place, every other byte kept as
 * written (a version `1.10` or an appVersion `1.0` must not turn into a number; re-serialising a
 * large index would also take seconds).
 */
import { isMap, isScalar, isSeq, parseDocument, visit, type Document, type YAMLMap } from 'yaml';
import { chartPathOf } from './chart-urls.js';

export class IndexYamlError extends Error {
  override readonly name = 'IndexYamlError';
}

/** One chart version the index lists, with the repository paths its URLs map to. */
export interface IndexedChart {
  name: string;
  version: string;
  /** Lowercase sha256 hex, when the entry has a well-formed digest. */
  digest?: string;
  /** Paths (below the upstream base) of the URLs this repository can serve, in the index's order. */
  paths: string[];
}

/** Where a URL scalar is in the index text, and the path it maps to (none: outside the upstream base). */
interface UrlSpan {
  start: number;
  end: number;
  path?: string;
  /** The last segment of a URL outside the upstream base, for the placeholder URL clients get. */
  outside?: string;
}

export interface ParsedIndex {
  /** The index text (UTF-8 decoded): spans index into it. */
  text: string;
  charts: IndexedChart[];
  urls: UrlSpan[];
  /** `generated`, ms since the epoch, when it is a valid timestamp. */
  generated?: number;
}

const MAX_ENTRIES = 500_000;

export function parseIndexYaml(bytes: Buffer, base: URL): ParsedIndex {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new IndexYamlError('index.yaml is not valid UTF-8');
  }
  // YAML allows no C0 control but tab, LF and CR (YAML 1.2 §5.1). The parser tolerates them, and
  // its source ranges then disagree with the text (a NUL inside a tag), which the rewrite of URLs
  // by range relies on: refused instead.
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.exec(text);
  if (control) throw new IndexYamlError(`index.yaml holds the control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()} at offset ${control.index}`);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) throw new IndexYamlError(`index.yaml is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  checkAliases(doc);
  if (!isMap(doc.contents)) throw new IndexYamlError('index.yaml is not a mapping');
  const entries = doc.contents.get('entries', true);
  if (entries !== undefined && entries !== null && !isMap(entries) && !(isScalar(entries) && entries.value === null)) {
    throw new IndexYamlError('index.yaml: "entries" is not a mapping');
  }
  const charts: IndexedChart[] = [];
  const urls: UrlSpan[] = [];
  for (const pair of isMap(entries) ? entries.items : []) {
    const name = scalarText(pair.key);
    if (name === undefined) throw new IndexYamlError('index.yaml: a chart name is not a string');
    if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) continue;
    if (!isSeq(pair.value)) throw new IndexYamlError(`index.yaml: entries of "${name}" are not a list`);
    for (const item of pair.value.items) {
      if (!isMap(item)) throw new IndexYamlError(`index.yaml: a version of "${name}" is not a mapping`);
      if (charts.length >= MAX_ENTRIES) throw new IndexYamlError(`index.yaml lists more than ${MAX_ENTRIES} chart versions`);
      charts.push(chartOf(name, item, base, urls));
    }
  }
  const generated = Date.parse(scalarText(doc.contents.get('generated', true)) ?? '');
  return { text, charts, urls, ...(Number.isFinite(generated) ? { generated } : {}) };
}

/** Most aliases an index may hold: Helm's generated indexes have none; many are an expansion bomb. */
const MAX_ALIASES = 1000;

/**
 * yaml reports an alias to an anchor that does not exist only when the value is read (Helm's
 * parser refuses the file), so every alias is resolved here, and their number bounded.
 */
function checkAliases(doc: Document): void {
  let count = 0;
  visit(doc, {
    Alias(_, alias) {
      if (++count > MAX_ALIASES) throw new IndexYamlError(`index.yaml holds more than ${MAX_ALIASES} aliases`);
      if (!alias.resolve(doc)) throw new IndexYamlError(`index.yaml: the alias *${alias.source} names no anchor`);
    },
  });
}

function chartOf(name: string, item: YAMLMap, base: URL, spans: UrlSpan[]): IndexedChart {
  const version = scalarText(item.get('version', true)) ?? '';
  const rawDigest = scalarText(item.get('digest', true))?.toLowerCase().replace(/^sha256:/, '');
  const urls = item.get('urls', true);
  const paths: string[] = [];
  if (urls !== undefined && urls !== null && !isSeq(urls)) throw new IndexYamlError(`index.yaml: "urls" of ${name} ${version} is not a list`);
  for (const u of isSeq(urls) ? urls.items : []) {
    if (!isScalar(u) || typeof u.value !== 'string' || !u.range) throw new IndexYamlError(`index.yaml: a URL of ${name} ${version} is not a string`);
    // URLs are rewritten by their source range: a tag or an empty plain scalar would make the
    // rewritten text run into the tag before it (`!!s` + URL). Real indexes carry neither.
    if (u.tag !== undefined || u.range[0] === u.range[1]) throw new IndexYamlError(`index.yaml: a URL of ${name} ${version} is tagged or empty`);
    const path = chartPathOf(u.value, base);
    spans.push({ start: u.range[0], end: u.range[1], ...(path !== undefined ? { path } : { outside: lastSegment(u.value) }) });
    if (path !== undefined) paths.push(path);
  }
  return { name, version, ...(rawDigest && /^[0-9a-f]{64}$/.test(rawDigest) ? { digest: rawDigest } : {}), paths };
}

/**
 * The index clients get: each chart URL replaced by its mirror URL. A URL outside the upstream base
 * (another host, a query string) cannot be fetched and verified through this repository: it is
 * replaced by `outsideUrl(url)`, which the mirror answers with a 404 naming the reason, so the
 * client never fetches a chart (or its author's .prov) around the mirror.
 */
export function servedIndexYaml(parsed: ParsedIndex, servedUrl: (path: string) => string, outsideUrl: (fileName: string) => string): Buffer {
  const parts: string[] = [];
  let at = 0;
  for (const span of parsed.urls) {
    parts.push(parsed.text.slice(at, span.start), yamlUrl(span.path !== undefined ? servedUrl(span.path) : outsideUrl(span.outside ?? 'chart.tgz')));
    at = span.end;
  }
  parts.push(parsed.text.slice(at));
  return Buffer.from(parts.join(''), 'utf8');
}

function lastSegment(url: string): string {
  const path = url.split(/[?#]/)[0] ?? '';
  const name = path.slice(path.lastIndexOf('/') + 1);
  return /^[A-Za-z0-9._+-]{1,200}$/.test(name) ? name : 'chart.tgz';
}

/** A URL as a YAML scalar valid in block and flow context: plain when it can be, double-quoted otherwise. */
function yamlUrl(url: string): string {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[A-Za-z0-9:/._~%@+;=$&!*'()-]*$/.test(url) ? url : JSON.stringify(url);
}

function scalarText(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const { value } = node;
  if (typeof value === 'string') return value;
  // A plain scalar read as a number or date: the text as written is what Helm (Go strings) sees.
  if (typeof node.source === 'string') return node.source;
  return value === null || value === undefined ? undefined : String(value);
}
