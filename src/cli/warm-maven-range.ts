/**
 * Maven version ranges for `countersign warm`: Maven reads the pom of every version a range
 * admits before it picks one, so warming a range means warming each candidate's pom.
 * https://maven.apache.org/pom.html#Dependency_Version_Requirement_Specification
 * The comparison is a simplification of Maven's ComparableVersion (numeric segments compared as
 * numbers, qualifiers as text): when it errs it errs towards warming an extra pom.
 */

interface Bound {
  version?: string;
  inclusive: boolean;
}

interface Interval {
  lower: Bound;
  upper: Bound;
}

export function parseRange(spec: string): Interval[] | undefined {
  const intervals: Interval[] = [];
  const re = /([[(])([^\])]*)([\])])\s*,?\s*/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(spec)) !== null) {
    consumed = re.lastIndex;
    const [, open, body, close] = m as unknown as [string, string, string, string];
    const parts = body.split(',').map((p) => p.trim());
    if (parts.length === 1) {
      if (open !== '[' || close !== ']' || !parts[0]) return undefined;
      intervals.push({ lower: { version: parts[0], inclusive: true }, upper: { version: parts[0], inclusive: true } });
    } else if (parts.length === 2) {
      intervals.push({
        lower: { ...(parts[0] ? { version: parts[0] } : {}), inclusive: open === '[' },
        upper: { ...(parts[1] ? { version: parts[1] } : {}), inclusive: close === ']' },
      });
    } else return undefined;
  }
  return consumed === spec.length && intervals.length > 0 ? intervals : undefined;
}

export function inRange(version: string, intervals: Interval[]): boolean {
  return intervals.some(({ lower, upper }) => {
    if (lower.version !== undefined) {
      const c = compareVersions(version, lower.version);
      if (c < 0 || (c === 0 && !lower.inclusive)) return false;
    }
    if (upper.version !== undefined) {
      const c = compareVersions(version, upper.version);
      if (c > 0 || (c === 0 && !upper.inclusive)) return false;
    }
    return true;
  });
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0';
    const y = pb[i] ?? '0';
    const nx = /^\d+$/.test(x) ? Number(x) : undefined;
    const ny = /^\d+$/.test(y) ? Number(y) : undefined;
    if (nx !== undefined && ny !== undefined) {
      if (nx !== ny) return nx < ny ? -1 : 1;
    } else if (nx !== undefined || ny !== undefined) {
      // A qualifier (1.0-beta) sorts before the release it qualifies (1.0).
      return nx !== undefined ? 1 : -1;
    } else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
