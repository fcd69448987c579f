/**
 * A chart repository's index.yaml (https://helm.sh/docs/topics/chart_repository/#the-index-file,
 * helm/helm pkg/repo/index.go): `apiVersion: v1`, `entries: {<name>: [<chart version>…]}` with
 * `digest` (sha256 hex of the .tgz) and `urls`, and `generated`. It is not signed.
 *
 * The bytes are attacker-controlled: parsed with the `yaml` package (aliases bounded, duplicate
 * keys refused), size capped by the caller. The served index is the upstream document with only
 * the `urls` of each version replaced, every other scalar kept as written (a version `1.10` or an
 * appVersion `1.0` must not turn into a number).
 */
import { Document, isMap, isScalar, isSeq, parseDocument, type YAMLMap } from 'yaml';
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

export interface ParsedIndex {
  doc: Document;
  charts: IndexedChart[];
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
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) throw new IndexYamlError(`index.yaml is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  if (!isMap(doc.contents)) throw new IndexYamlError('index.yaml is not a mapping');
  const entries = doc.contents.get('entries', true);
  if (entries !== undefined && entries !== null && !isMap(entries) && !(isScalar(entries) && entries.value === null)) {
    throw new IndexYamlError('index.yaml: "entries" is not a mapping');
  }
  const charts: IndexedChart[] = [];
  for (const pair of isMap(entries) ? entries.items : []) {
    const name = scalarText(pair.key);
    if (name === undefined) throw new IndexYamlError('index.yaml: a chart name is not a string');
    if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) continue;
    if (!isSeq(pair.value)) throw new IndexYamlError(`index.yaml: entries of "${name}" are not a list`);
    for (const item of pair.value.items) {
      if (!isMap(item)) throw new IndexYamlError(`index.yaml: a version of "${name}" is not a mapping`);
      if (charts.length >= MAX_ENTRIES) throw new IndexYamlError(`index.yaml lists more than ${MAX_ENTRIES} chart versions`);
      charts.push(chartOf(name, item, base));
    }
  }
  const generated = Date.parse(scalarText(doc.contents.get('generated', true)) ?? '');
  return { doc, charts, ...(Number.isFinite(generated) ? { generated } : {}) };
}

function chartOf(name: string, item: YAMLMap, base: URL): IndexedChart {
  const version = scalarText(item.get('version', true)) ?? '';
  const rawDigest = scalarText(item.get('digest', true))?.toLowerCase().replace(/^sha256:/, '');
  const urls = item.get('urls', true);
  const paths: string[] = [];
  if (isSeq(urls)) {
    for (const u of urls.items) {
      const text = scalarText(u);
      const path = text === undefined ? undefined : chartPathOf(text, base);
      if (path !== undefined) paths.push(path);
    }
  }
  return { name, version, ...(rawDigest && /^[0-9a-f]{64}$/.test(rawDigest) ? { digest: rawDigest } : {}), paths };
}

/**
 * The index clients get: every version's `urls` replaced by the mirror URLs of the paths it maps
 * to; a version none of whose URLs this repository can serve is left out (its chart could only be
 * fetched around the mirror, unverified). Charts whose every version was left out go too.
 */
export function servedIndexYaml(parsed: ParsedIndex, servedUrl: (path: string) => string): Buffer {
  const doc = parsed.doc.clone();
  const entries = isMap(doc.contents) ? doc.contents.get('entries', true) : undefined;
  if (isMap(entries)) {
    let at = 0;
    for (const pair of [...entries.items]) {
      if (!isSeq(pair.value)) continue;
      const kept = [];
      for (const item of pair.value.items) {
        const chart = parsed.charts[at++]!;
        if (chart.paths.length === 0 || !isMap(item)) continue;
        item.set('urls', doc.createNode(chart.paths.map(servedUrl)));
        kept.push(item);
      }
      pair.value.items = kept;
      if (kept.length === 0) entries.items.splice(entries.items.indexOf(pair), 1);
    }
  }
  return Buffer.from(doc.toString({ indentSeq: false, lineWidth: 0 }), 'utf8');
}

function scalarText(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const { value } = node;
  if (typeof value === 'string') return value;
  // A plain scalar read as a number or date: the text as written is what Helm (Go strings) sees.
  if (typeof node.source === 'string') return node.source;
  return value === null || value === undefined ? undefined : String(value);
}
