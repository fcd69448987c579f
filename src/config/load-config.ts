/**
 * parse → substitute env → validate (every problem at once, with its path) → defaults →
 * freeze. The result is passed explicitly; there is no global configuration.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { MirrorError } from '../errors.js';
import type { FormatAdapter } from '../formats/types.js';
import { substituteEnv, type SubstitutionProblem } from './env-substitution.js';
import { configSchema, type ParsedConfig, type RepositoryConfigParsed } from './schema.js';

export interface RepositoryConfig extends Omit<RepositoryConfigParsed, 'metadataTtl' | 'maxObjectSize' | 'maxInMemorySize' | 'trust'> {
  /** Validated by the format's own trust schema. */
  trust: unknown;
  metadataTtlMs: number;
  maxObjectSize: number;
  /** The largest object read whole into memory to verify or derive it (see limits.maxInMemorySize). */
  maxInMemorySize: number;
}

export interface Config extends Omit<ParsedConfig, 'repositories' | 'publicUrl'> {
  /** Base URL written into rewritten indexes, without a trailing slash. */
  publicUrl: string;
  /** Absolute path of the data directory. */
  dataDir: string;
  /** Directory of the config file; trust file paths are relative to it. */
  configDir: string;
  repositories: readonly RepositoryConfig[];
}

export type ConfigProblem = SubstitutionProblem;

export class ConfigError extends MirrorError {
  readonly problems: readonly ConfigProblem[];
  constructor(file: string, problems: ConfigProblem[]) {
    super('CONFIG_INVALID', `Invalid configuration in ${file}:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`, { file });
    this.problems = problems;
  }
}

export async function loadConfigFile(
  file: string,
  formats: ReadonlyMap<string, FormatAdapter>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new MirrorError('CONFIG_INVALID', `Cannot read the configuration file ${file}: ${(err as Error).message}`, { file });
  }
  return parseConfig(text, { file, formats, env, cwd: process.cwd() });
}

export function parseConfig(
  text: string,
  opts: { file: string; formats: ReadonlyMap<string, FormatAdapter>; env: NodeJS.ProcessEnv; cwd: string },
): Config {
  const problems: ConfigProblem[] = [];
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true, uniqueKeys: true }) ?? {};
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? `line ${err.linePos[0].line}` : '(document)';
    throw new ConfigError(opts.file, [{ path: where, message: (err as Error).message.split('\n')[0] ?? 'YAML syntax error' }]);
  }
  const substituted = substituteEnv(doc, opts.env, problems);
  const parsed = configSchema.safeParse(substituted);
  if (!parsed.success) problems.push(...zodProblems(parsed.error));
  if (!parsed.success || problems.length > 0) throw new ConfigError(opts.file, problems);

  const cfg = parsed.data;
  const repositories: RepositoryConfig[] = [];
  const seen = new Set<string>();
  cfg.repositories.forEach((repo, i) => {
    const at = `repositories[${i}]`;
    if (seen.has(repo.name)) problems.push({ path: `${at}.name`, message: `"${repo.name}" is used by another repository` });
    seen.add(repo.name);
    const adapter = opts.formats.get(repo.format);
    if (!adapter) {
      problems.push({ path: `${at}.format`, message: `unknown format "${repo.format}" (known: ${[...opts.formats.keys()].join(', ')})` });
      return;
    }
    if (repo.upstream !== 'auto' && !isHttpUrl(repo.upstream)) {
      problems.push({ path: `${at}.upstream`, message: `"${repo.upstream}" is not an http(s) URL or "auto"` });
    }
    const trust = adapter.trustSchema.safeParse(repo.trust);
    if (!trust.success) problems.push(...zodProblems(trust.error, `${at}.trust`));
    const { metadataTtl, maxObjectSize, maxInMemorySize, ...rest } = repo;
    repositories.push({
      ...rest,
      trust: trust.success ? trust.data : repo.trust,
      metadataTtlMs: metadataTtl,
      maxObjectSize: maxObjectSize ?? cfg.limits.maxObjectSize,
      maxInMemorySize: maxInMemorySize ?? cfg.limits.maxInMemorySize,
    });
  });
  if (problems.length > 0) throw new ConfigError(opts.file, problems);

  const host = cfg.listen.host.includes(':') ? `[${cfg.listen.host}]` : cfg.listen.host;
  const publicUrl = (cfg.publicUrl ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${cfg.listen.port}`).replace(/\/+$/, '');
  return deepFreeze({
    ...cfg,
    publicUrl,
    dataDir: resolve(opts.cwd, cfg.dataDir),
    configDir: dirname(resolve(opts.cwd, opts.file)),
    repositories,
  });
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function zodProblems(error: z.ZodError, prefix = ''): ConfigProblem[] {
  return error.issues.map((issue) => {
    let path = prefix;
    for (const seg of issue.path) path += typeof seg === 'number' ? `[${seg}]` : path ? `.${String(seg)}` : String(seg);
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    return { path: path || '(root)', message };
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
