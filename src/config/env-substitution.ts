/**
 * `${VAR}` and `${VAR:-default}` in configuration strings, taken from the environment.
 * Substitution happens on parsed string values, never on the YAML text, so a variable's
 * value cannot change the document's structure.
 */

export interface SubstitutionProblem {
  path: string;
  message: string;
}

const PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, problems: SubstitutionProblem[], path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(PATTERN, (_all, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      problems.push({ path: path || '(root)', message: `environment variable ${name} is not set and has no default` });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, problems, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, problems, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}
