/**
 * `countersign warm` input for Helm: a Chart.lock (written by `helm dependency update`;
 * https://helm.sh/docs/helm/helm_dependency/ — `dependencies: [{name, version, repository}]`,
 * `digest`, `generated`). Each dependency served by the repository being warmed is looked up in
 * the mirror's own index.yaml (which knows the archive's path), and its archive and `.prov` are
 * warmed. The lock file is the user's, the index the mirror's: both are still parsed defensively.
 */
import { parse } from 'yaml';

export interface ChartLockDependency {
  name: string;
  version: string;
  repository: string;
}

export function isChartLock(file: string): boolean {
  return /(^|[/\\])Chart\.lock$/.test(file);
}

export function parseChartLock(text: string): ChartLockDependency[] {
  const doc = parse(text, { maxAliasCount: 100 }) as unknown;
  const deps = isRecord(doc) && Array.isArray(doc.dependencies) ? doc.dependencies : undefined;
  if (!deps) throw new Error('Chart.lock has no dependencies list');
  return deps.filter(isRecord).flatMap((d) => {
    const name = text_(d.name);
    const version = text_(d.version);
    return name && version ? [{ name, version, repository: text_(d.repository) ?? '' }] : [];
  });
}

/**
 * The repository paths to warm for a Chart.lock: index.yaml, then each dependency's archive and
 * `.prov` as the mirror's index lists them under `repositoryBase` (`<mirror>/<repo>/`). OCI and
 * local (file://) dependencies are not served by a chart repository and are skipped; a dependency
 * the index does not list is asked for by Helm's file name `<name>-<version>.tgz`, so it fails
 * with the mirror's reason instead of being dropped silently.
 */
export async function chartLockPaths(text: string, repositoryBase: string, fetchText: (url: string) => Promise<string>): Promise<string[]> {
  const deps = parseChartLock(text).filter((d) => !/^(oci|file):/i.test(d.repository));
  if (deps.length === 0) return [];
  const index = parse(await fetchText(new URL('index.yaml', repositoryBase).href), { maxAliasCount: 100 }) as unknown;
  const entries = isRecord(index) && isRecord(index.entries) ? index.entries : {};
  const out = new Set<string>(['index.yaml']);
  for (const dep of deps) {
    const versions = Array.isArray(entries[dep.name]) ? (entries[dep.name] as unknown[]).filter(isRecord) : [];
    const entry = versions.find((v) => text_(v.version) === dep.version);
    const url = entry && Array.isArray(entry.urls) ? text_(entry.urls[0]) : undefined;
    // Kept percent-encoded: warm resolves it against the repository URL as it is.
    const path = url?.startsWith(repositoryBase) ? url.slice(repositoryBase.length) : `${dep.name}-${dep.version}.tgz`;
    out.add(path);
    out.add(`${path}.prov`);
  }
  return [...out];
}

function text_(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
