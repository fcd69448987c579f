/**
 * `countersign warm` for Python: what to pre-fetch for a `requirements.txt` (pinned, with
 * `--hash` lines, as `pip-compile --generate-hashes` or `uv pip compile` write it) or a
 * `pylock.toml` (PEP 751). Each requirement's project page is read from the mirror (PEP 691
 * JSON), and the files whose SHA-256 the lock file names (or, without hashes, of the pinned
 * version) are warmed with their PEP 658 metadata, so `pip install --require-hashes` works offline.
 * https://pip.pypa.io/en/stable/reference/requirements-file-format/
 * https://packaging.python.org/en/latest/specifications/pylock-toml/
 */
import { basename } from 'node:path';
import { normalizeProject } from '../formats/pypi/names.js';

export interface PythonRequirement {
  project: string;
  version?: string;
  /** Lowercase SHA-256 hex digests the lock file allows. */
  sha256: string[];
}

/** Whether `countersign warm` should read this file as a Python lock file. */
export function isPythonLockFile(file: string, text: string): 'requirements' | 'pylock' | undefined {
  const name = basename(file);
  if (/^pylock(\.[^.]+)?\.toml$/.test(name)) return 'pylock';
  if (name.endsWith('.txt') && (name.startsWith('requirements') || /--hash[=\s]/.test(text))) return 'requirements';
  return undefined;
}

const REQUIREMENT = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:(?:===?)\s*([^\s;\\]+))?/;
const HASH = /--hash[=\s]+sha256:([0-9a-fA-F]{64})/g;

export function parseRequirementsTxt(text: string): PythonRequirement[] {
  // Backslash continuations join a requirement with its --hash lines.
  const logical = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const out: PythonRequirement[] = [];
  for (const raw of logical) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line || line.startsWith('-')) continue;
    const m = REQUIREMENT.exec(line);
    if (!m) continue;
    out.push({ project: normalizeProject(m[1]!), ...(m[2] ? { version: m[2] } : {}), sha256: [...line.matchAll(HASH)].map((h) => h[1]!.toLowerCase()) });
  }
  return out;
}

/**
 * The `[[packages]]` of a pylock.toml: each table's own `name`/`version` keys and every `sha256`
 * in it (wheels and sdist, inline or as sub-tables). A reader of this subset, not a TOML parser.
 */
export function parsePylock(text: string): PythonRequirement[] {
  const out: PythonRequirement[] = [];
  let current: PythonRequirement | undefined;
  let inOwnTable = false;
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '[[packages]]') {
      current = { project: '', sha256: [] };
      out.push(current);
      inOwnTable = true;
      continue;
    }
    if (/^\[\[?[^\]]+\]\]?$/.test(trimmed)) {
      inOwnTable = false;
      if (!trimmed.startsWith('[packages.') && !trimmed.startsWith('[[packages.')) current = undefined;
      continue;
    }
    if (!current) continue;
    const key = /^(name|version)\s*=\s*"([^"]*)"/.exec(trimmed);
    if (key && inOwnTable) {
      if (key[1] === 'name') current.project = normalizeProject(key[2]!);
      else current.version = key[2]!;
    }
    for (const h of trimmed.matchAll(/\bsha256\s*=\s*"([0-9a-fA-F]{64})"/g)) current.sha256.push(h[1]!.toLowerCase());
  }
  return out.filter((r) => r.project !== '');
}

interface PageJson {
  files?: { filename?: string; url?: string; hashes?: { sha256?: string }; 'core-metadata'?: unknown }[];
}

/**
 * Paths under the repository to warm: each project page, and the files the requirements name
 * (by hash, else by version in the file name) with their metadata files.
 */
export async function pythonPathsToWarm(requirements: PythonRequirement[], repositoryBase: string, failures: string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const req of requirements) {
    const pagePath = `simple/${req.project}/`;
    out.add(pagePath);
    let page: PageJson;
    try {
      const res = await fetch(new URL(pagePath, repositoryBase), { headers: { accept: 'application/vnd.pypi.simple.v1+json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      page = (await res.json()) as PageJson;
    } catch (err) {
      failures.push(`${pagePath}: ${(err as Error).message}`);
      continue;
    }
    const wanted = (page.files ?? []).filter((f) => (req.sha256.length > 0
      ? req.sha256.includes(f.hashes?.sha256 ?? '')
      : req.version !== undefined && fileVersion(f.filename ?? '', req.project) === req.version));
    if (wanted.length === 0) failures.push(`${req.project}${req.version ? `==${req.version}` : ''}: no file on the mirror's page matches the lock file`);
    for (const f of wanted) {
      if (!f.url?.startsWith(repositoryBase)) continue;
      const path = f.url.slice(repositoryBase.length);
      out.add(path);
      if (f['core-metadata'] && f['core-metadata'] !== false) out.add(`${path}.metadata`);
    }
  }
  return [...out];
}

/** The version in a wheel or sdist file name of `project`, if its name says. */
function fileVersion(fileName: string, project: string): string | undefined {
  if (fileName.endsWith('.whl')) return fileName.split('-')[1];
  const stem = fileName.replace(/\.(tar\.gz|zip|tar\.bz2)$/, '');
  const dash = stem.lastIndexOf('-');
  return dash > 0 && normalizeProject(stem.slice(0, dash)) === project ? stem.slice(dash + 1) : undefined;
}
