/**
 * `countersign warm` input for Maven repositories: the paths a build will ask for, from a
 * `pom.xml` (its dependencies and dependencyManagement, `${…}` resolved from its <properties>)
 * https://maven.apache.org/pom.html#Dependencies, or the output of `mvn dependency:list`
 * (`group:artifact:type[:classifier]:version:scope`, as maven-dependency-plugin prints it).
 * For each artifact: the pom, the file of its type, their `.sha1` and `.asc`; for a version
 * range, the artifact's maven-metadata.xml. The input is the user's file, parsed defensively.
 */
import { SaxesParser } from 'saxes';
import { parseMavenMetadata } from '../formats/maven/metadata.js';
import { inRange, parseRange } from './warm-maven-range.js';

export interface MavenCoordinate {
  groupId: string;
  artifactId: string;
  version: string;
  type: string;
  classifier?: string;
}

/** Reads a path of the repository through the mirror (undefined when it is not served). */
export type FetchText = (path: string) => Promise<Buffer | undefined>;

/**
 * Paths to warm, or undefined when the file is not Maven input. A version range is warmed as
 * Maven resolves it: its maven-metadata.xml (read through the mirror) and every admitted version.
 */
export async function mavenWarmPaths(fileName: string, text: string, fetchText: FetchText): Promise<string[] | undefined> {
  const base = fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
  let coordinates: MavenCoordinate[];
  if (base === 'pom.xml' || base.endsWith('.pom')) coordinates = pomDependencies(text);
  else if (/The following files have been resolved|^\s*(?:\[INFO\]\s+)?[\w.-]+:[\w.-]+:[\w.-]+:.*:(?:compile|runtime|test|provided|system)\b/m.test(text)) {
    coordinates = dependencyListEntries(text);
  } else return undefined;
  const expanded: MavenCoordinate[] = [];
  for (const c of coordinates) {
    expanded.push(c);
    if (isRange(c.version)) expanded.push(...(await rangeCandidates(c, fetchText)));
  }
  return pathsFor(expanded);
}

async function rangeCandidates(c: MavenCoordinate, fetchText: FetchText): Promise<MavenCoordinate[]> {
  const intervals = parseRange(c.version);
  const bytes = await fetchText(`${c.groupId.split('.').join('/')}/${c.artifactId}/maven-metadata.xml`);
  if (!intervals || !bytes) return [];
  try {
    return parseMavenMetadata(bytes).versions.filter((v) => inRange(v, intervals)).map((version) => ({ ...c, version }));
  } catch {
    return [];
  }
}

export function pathsFor(coordinates: MavenCoordinate[]): string[] {
  const out = new Set<string>();
  for (const c of coordinates) {
    const dir = `${c.groupId.split('.').join('/')}/${c.artifactId}`;
    if (isRange(c.version)) {
      out.add(`${dir}/maven-metadata.xml`);
      out.add(`${dir}/maven-metadata.xml.sha1`);
      continue;
    }
    const stem = `${dir}/${c.version}/${c.artifactId}-${c.version}`;
    const files = [`${stem}.pom`];
    if (c.type !== 'pom') files.push(`${stem}${c.classifier ? `-${c.classifier}` : ''}.${extensionOf(c.type)}`);
    for (const f of files) for (const suffix of ['', '.sha1', '.asc']) out.add(`${f}${suffix}`);
  }
  return [...out];
}

const SCOPES = new Set(['compile', 'runtime', 'test', 'provided', 'system', 'import']);

/** `mvn dependency:list` lines: `[INFO]    g:a:type[:classifier]:version:scope[ -- module m]`. */
export function dependencyListEntries(text: string): MavenCoordinate[] {
  const out: MavenCoordinate[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s*\[INFO\]/, '').replace(/\s+--\s.*$/, '').replace(/\s+\(optional\)\s*$/, '').trim();
    const parts = line.split(':');
    if (parts.length < 5 || parts.length > 6 || !SCOPES.has(parts[parts.length - 1]!)) continue;
    if (!parts.every((p) => /^[A-Za-z0-9._+~\-[\](),]+$/.test(p))) continue;
    const [groupId, artifactId, type] = parts as [string, string, string];
    const classifier = parts.length === 6 ? parts[3] : undefined;
    const version = parts[parts.length - 2]!;
    out.push({ groupId, artifactId, type, version, ...(classifier ? { classifier } : {}) });
  }
  return out;
}

/** Dependencies a pom names with a version (after `${…}` from its own properties). */
export function pomDependencies(xml: string): MavenCoordinate[] {
  const parser = new SaxesParser({ xmlns: false });
  const stack: string[] = [];
  const properties = new Map<string, string>();
  const deps: Record<string, string>[] = [];
  let current: Record<string, string> | undefined;
  let text = '';
  parser.on('opentag', (tag) => {
    stack.push(tag.name);
    text = '';
    if (tag.name === 'dependency' && stack[stack.length - 2] === 'dependencies') current = {};
  });
  parser.on('text', (t) => {
    text += t;
  });
  parser.on('closetag', (tag) => {
    const where = stack.join('/');
    if (current && stack[stack.length - 2] === 'dependency') current[tag.name] = text.trim();
    else if (tag.name === 'dependency' && current) {
      deps.push(current);
      current = undefined;
    } else if (stack[stack.length - 2] === 'properties' && stack.length === 3) properties.set(tag.name, text.trim());
    else if (where === 'project/version') properties.set('project.version', text.trim());
    else if (where === 'project/groupId') properties.set('project.groupId', text.trim());
    stack.pop();
    text = '';
  });
  parser.write(xml).close();
  const expand = (v: string | undefined): string | undefined => v?.replace(/\$\{([^}]+)\}/g, (m, name: string) => properties.get(name) ?? m);
  const out: MavenCoordinate[] = [];
  for (const d of deps) {
    const [groupId, artifactId, version] = [expand(d.groupId), expand(d.artifactId), expand(d.version)];
    if (!groupId || !artifactId || !version || `${groupId}${artifactId}${version}`.includes('${')) continue;
    if (d.scope === 'import') {
      out.push({ groupId, artifactId, version, type: 'pom' });
      continue;
    }
    const classifier = expand(d.classifier);
    out.push({ groupId, artifactId, version, type: expand(d.type) ?? 'jar', ...(classifier ? { classifier } : {}) });
  }
  return out;
}

function isRange(version: string): boolean {
  return /^[[(]/.test(version) || version === 'LATEST' || version === 'RELEASE';
}

/** The file extension of a dependency type (artifact handlers of Maven core). */
function extensionOf(type: string): string {
  switch (type) {
    case 'test-jar': case 'maven-plugin': case 'ejb': case 'ejb-client': case 'java-source': case 'javadoc':
      return 'jar';
    default:
      return type;
  }
}
