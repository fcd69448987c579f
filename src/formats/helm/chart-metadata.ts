/**
 * Chart.yaml as Helm reads it into its `chart.Metadata` (helm/helm pkg/chart/metadata.go,
 * https://helm.sh/docs/topics/charts/#the-chartyaml-file) and writes it back into a provenance
 * body: only the fields Metadata has, empty ones omitted, keys sorted (sigs.k8s.io/yaml marshals
 * through JSON into a sorted map), sequences not indented (yaml.v2 style).
 *
 * Chart.yaml is attacker-controlled. It is read with YAML's failsafe schema, so every scalar is
 * the string as written (Go reads `version: 1.10` into a string field as "1.10", not 1.1).
 */
import { parse, stringify } from 'yaml';

export class ChartMetadataError extends Error {
  override readonly name = 'ChartMetadataError';
}

type Json = string | boolean | Json[] | { [key: string]: Json };

const STRING_FIELDS = ['name', 'home', 'version', 'description', 'icon', 'apiVersion', 'condition', 'tags', 'appVersion', 'kubeVersion', 'type'] as const;
const STRING_LIST_FIELDS = ['sources', 'keywords'] as const;
const MAINTAINER_FIELDS = ['name', 'email', 'url'] as const;
const DEPENDENCY_STRING_FIELDS = ['name', 'version', 'repository', 'condition', 'alias'] as const;

export interface ChartMetadata {
  name: string;
  version: string;
  /** The Metadata fields as Helm would marshal them. */
  fields: Record<string, Json>;
}

export function parseChartYaml(bytes: Buffer): ChartMetadata {
  let raw: unknown;
  try {
    raw = parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes), { schema: 'failsafe', maxAliasCount: 100, uniqueKeys: true });
  } catch (err) {
    throw new ChartMetadataError(`Chart.yaml is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isRecord(raw)) throw new ChartMetadataError('Chart.yaml is not a mapping');
  const fields: Record<string, Json> = {};
  for (const f of STRING_FIELDS) setString(fields, f, raw[f]);
  // Helm's loader reads a Chart.yaml without apiVersion as v1 (pkg/chart/loader/load.go).
  fields.apiVersion ??= 'v1';
  for (const f of STRING_LIST_FIELDS) setStringList(fields, f, raw[f]);
  if (raw.deprecated === 'true') fields.deprecated = true;
  const maintainers = listOf(raw.maintainers).filter(isRecord).map((m) => pick(m, MAINTAINER_FIELDS)).filter((m) => Object.keys(m).length > 0);
  if (maintainers.length > 0) fields.maintainers = maintainers;
  if (isRecord(raw.annotations)) {
    const annotations: Record<string, Json> = {};
    for (const [k, v] of Object.entries(raw.annotations)) if (typeof v === 'string') annotations[k] = v;
    if (Object.keys(annotations).length > 0) fields.annotations = annotations;
  }
  const dependencies = listOf(raw.dependencies).filter(isRecord).map(dependencyOf);
  if (dependencies.length > 0) fields.dependencies = dependencies;
  const name = fields.name;
  const version = fields.version;
  if (typeof name !== 'string' || typeof version !== 'string') throw new ChartMetadataError('Chart.yaml has no name or no version');
  return { name, version, fields };
}

/**
 * The metadata part of a provenance body, as `helm package --sign` writes it (ends with "\n").
 * Long strings are not folded: yaml.v2 folds plain scalars at the first space past column 80,
 * which no option of the `yaml` package reproduces; an unfolded line reads back the same, and
 * Helm compares only the signature and the files map.
 */
export function metadataYaml(metadata: ChartMetadata): string {
  return stringify(metadata.fields, { sortMapEntries: true, indentSeq: false, lineWidth: 0 });
}

function dependencyOf(d: Record<string, unknown>): Record<string, Json> {
  const out = pick(d, DEPENDENCY_STRING_FIELDS);
  setStringList(out, 'tags', d.tags);
  if (d.enabled === 'true' || d.enabled === 'false') out.enabled = d.enabled === 'true';
  const importValues = listOf(d['import-values']).map(toJson).filter((v): v is Json => v !== undefined);
  if (importValues.length > 0) out['import-values'] = importValues;
  return out;
}

function pick(from: Record<string, unknown>, keys: readonly string[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const k of keys) setString(out, k, from[k]);
  return out;
}

function setString(out: Record<string, Json>, key: string, value: unknown): void {
  if (typeof value === 'string' && value !== '') out[key] = value;
}

function setStringList(out: Record<string, Json>, key: string, value: unknown): void {
  const list = listOf(value).filter((v): v is string => typeof v === 'string');
  if (list.length > 0) out[key] = list;
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function toJson(value: unknown): Json | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(toJson).filter((v): v is Json => v !== undefined);
  if (isRecord(value)) {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) {
      const j = toJson(v);
      if (j !== undefined) out[k] = j;
    }
    return out;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
