/**
 * maven-metadata.xml, the version list of an artifact (and, in a snapshot directory, of its
 * timestamped builds): https://maven.apache.org/repositories/metadata.html and the schema at
 * https://maven.apache.org/xsd/repository-metadata-1.1.0.xsd. The upstream bytes are
 * attacker-controlled: parsed with a real XML parser (saxes, no DTDs or entities expanded
 * beyond XML's five), bounded in size and depth, and only the fields the mirror needs are read.
 */
import { SaxesParser } from 'saxes';

export interface MavenMetadata {
  groupId?: string;
  artifactId?: string;
  versions: string[];
  /** `<versioning><lastUpdated>` (yyyyMMddHHmmss, UTC) as ms since epoch. */
  lastUpdated?: number;
  lastUpdatedText?: string;
}

/** Central's largest version lists are a few hundred KB; beyond this it is not a version list. */
export const MAX_METADATA_BYTES = 8 * 1024 * 1024;
const MAX_DEPTH = 16;
const MAX_VERSIONS = 100_000;

export class MetadataError extends Error {}

export function parseMavenMetadata(bytes: Buffer): MavenMetadata {
  if (bytes.byteLength > MAX_METADATA_BYTES) throw new MetadataError(`it is ${bytes.byteLength} bytes, more than ${MAX_METADATA_BYTES}`);
  const parser = new SaxesParser({ xmlns: false });
  const stack: string[] = [];
  const out: MavenMetadata = { versions: [] };
  let text = '';
  let failure: Error | undefined;
  parser.on('error', (err) => {
    failure ??= err;
  });
  parser.on('doctype', () => {
    failure ??= new MetadataError('a DOCTYPE is not allowed in maven-metadata.xml');
  });
  parser.on('opentag', (tag) => {
    stack.push(tag.name);
    if (stack.length > MAX_DEPTH) failure ??= new MetadataError(`elements nest deeper than ${MAX_DEPTH}`);
    if (stack.length === 1 && tag.name !== 'metadata') failure ??= new MetadataError(`the root element is <${tag.name}>, not <metadata>`);
    text = '';
  });
  parser.on('text', (t) => {
    if (text.length < 1024) text += t;
  });
  parser.on('closetag', () => {
    const where = stack.join('/');
    const value = text.trim();
    if (where === 'metadata/groupId') out.groupId = value;
    else if (where === 'metadata/artifactId') out.artifactId = value;
    else if (where === 'metadata/versioning/versions/version') {
      if (out.versions.length >= MAX_VERSIONS) failure ??= new MetadataError(`more than ${MAX_VERSIONS} versions`);
      else out.versions.push(value);
    } else if (where === 'metadata/versioning/lastUpdated') {
      const at = parseLastUpdated(value);
      if (at === undefined) failure ??= new MetadataError(`<lastUpdated>${value.slice(0, 40)}</lastUpdated> is not yyyyMMddHHmmss`);
      else {
        out.lastUpdated = at;
        out.lastUpdatedText = value;
      }
    }
    stack.pop();
    text = '';
  });
  try {
    parser.write(bytes.toString('utf8')).close();
  } catch (err) {
    failure ??= err as Error;
  }
  if (failure) throw new MetadataError(failure.message);
  if (stack.length !== 0) throw new MetadataError('the document ends inside an element');
  return out;
}

function parseLastUpdated(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const at = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isFinite(at) ? at : undefined;
}
