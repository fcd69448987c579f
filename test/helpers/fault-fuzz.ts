/**
 * Bounded property-based fuzzing (fast-check) for parsers of attacker-controlled bytes and
 * paths. Each property runs for at most `numRuns` cases and a wall-clock budget, so a fuzz
 * file stays well under a minute in CI; a failure prints fast-check's seed and path, and
 * FUZZ_SEED=<seed> replays it. FUZZ_RUNS scales every property up for a longer local run.
 */
import fc from 'fast-check';

/** A parser call that takes longer than this on inputs of a few KiB is a hang, not a slow machine. */
export const PER_CALL_BOUND_MS = 2_000;

const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

export interface FuzzStats {
  calls: number;
  refused: number;
  maxMs: number;
}

/** Runs a property with the bounded budget; returns how many inputs were accepted and refused. */
export function fuzz<T>(arb: fc.Arbitrary<T>, property: (value: T, stats: FuzzStats) => void, opts: { runs?: number; budgetMs?: number } = {}): FuzzStats {
  const stats: FuzzStats = { calls: 0, refused: 0, maxMs: 0 };
  fc.assert(
    fc.property(arb, (value) => property(value, stats)),
    {
      numRuns: opts.runs ?? RUNS,
      // A budget, not an assertion: stop generating cases once it is spent (the runs done still count).
      interruptAfterTimeLimit: opts.budgetMs ?? 6_000,
      markInterruptAsFailure: false,
      ...(SEED === undefined ? {} : { seed: SEED }),
    },
  );
  return stats;
}

/** fuzz() for async parsers (streamed inflation). */
export async function fuzzAsync<T>(arb: fc.Arbitrary<T>, property: (value: T, stats: FuzzStats) => Promise<void>, opts: { runs?: number; budgetMs?: number } = {}): Promise<FuzzStats> {
  const stats: FuzzStats = { calls: 0, refused: 0, maxMs: 0 };
  await fc.assert(
    fc.asyncProperty(arb, (value) => property(value, stats)),
    {
      numRuns: opts.runs ?? RUNS,
      interruptAfterTimeLimit: opts.budgetMs ?? 6_000,
      markInterruptAsFailure: false,
      ...(SEED === undefined ? {} : { seed: SEED }),
    },
  );
  return stats;
}

/** typed() for async parsers. */
export async function typedAsync<R>(stats: FuzzStats, allowed: readonly ErrorClass[], call: () => Promise<R>): Promise<R | undefined> {
  const started = performance.now();
  stats.calls++;
  try {
    return await call();
  } catch (err) {
    if (allowed.some((cls) => err instanceof cls) && !isEngineError(err)) {
      stats.refused++;
      return undefined;
    }
    throw err;
  } finally {
    const ms = performance.now() - started;
    stats.maxMs = Math.max(stats.maxMs, ms);
    if (ms > PER_CALL_BOUND_MS) throw new Error(`a parser call took ${Math.round(ms)} ms (bound ${PER_CALL_BOUND_MS} ms): a hang on hostile input`);
  }
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Calls a parser: its result, or undefined when it refused the input with one of its own
 * typed errors. Any other exception (TypeError, RangeError, a foreign Error) fails the
 * property, and so does a call slower than PER_CALL_BOUND_MS.
 */
export function typed<R>(stats: FuzzStats, allowed: readonly ErrorClass[], call: () => R): R | undefined {
  const started = performance.now();
  stats.calls++;
  try {
    return call();
  } catch (err) {
    if (allowed.some((cls) => err instanceof cls) && !isEngineError(err)) {
      stats.refused++;
      return undefined;
    }
    throw err;
  } finally {
    const ms = performance.now() - started;
    stats.maxMs = Math.max(stats.maxMs, ms);
    if (ms > PER_CALL_BOUND_MS) throw new Error(`a parser call took ${Math.round(ms)} ms (bound ${PER_CALL_BOUND_MS} ms): a hang on hostile input`);
  }
}

/** Engine errors (a bad index, a stack overflow) are bugs even when they subclass Error. */
function isEngineError(err: unknown): boolean {
  return err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError;
}

/** Hostile variants of valid bytes: flipped bytes, cuts, insertions, and plain noise. */
export function mutated(valid: Buffer): fc.Arbitrary<Buffer> {
  const flip = fc.array(fc.tuple(fc.nat({ max: Math.max(0, valid.length - 1) }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((edits) => {
    const b = Buffer.from(valid);
    for (const [at, byte] of edits) b[at] = byte;
    return b;
  });
  const cut = fc.nat({ max: valid.length }).map((n) => Buffer.from(valid.subarray(0, n)));
  const insert = fc.tuple(fc.nat({ max: valid.length }), fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([at, bytes]) => Buffer.concat([valid.subarray(0, at), Buffer.from(bytes), valid.subarray(at)]));
  const noise = fc.uint8Array({ maxLength: 4096 }).map((u) => Buffer.from(u));
  return fc.oneof(flip, flip, cut, insert, noise);
}

/** Splits text at arbitrary places (how a stream delivers it). */
export function chunked(text: string): fc.Arbitrary<string[]> {
  return fc.uniqueArray(fc.nat({ max: text.length }), { maxLength: 12 }).map((cuts) => {
    const at = [0, ...cuts.sort((a, b) => a - b), text.length];
    const parts: string[] = [];
    for (let i = 1; i < at.length; i++) parts.push(text.slice(at[i - 1], at[i]));
    return parts;
  });
}

/**
 * A store key (or an upstream path) is safe when it stays inside the repository: relative,
 * no "." or ".." segment (after percent-decoding too), no NUL, no backslash.
 */
export function storeKeyProblem(key: string, opts: { encoded?: boolean } = {}): string | undefined {
  if (key.includes('\0')) return 'contains NUL';
  if (key.includes('\\')) return 'contains a backslash';
  if (key.startsWith('/')) return 'is absolute';
  const path = key.split('?')[0] ?? '';
  for (const raw of path.split('/')) {
    let seg = raw;
    if (opts.encoded) {
      try {
        seg = decodeURIComponent(raw);
      } catch {
        return `segment "${raw}" is not valid percent-encoding`;
      }
    }
    if (seg === '.' || seg === '..') return `has a "${seg}" segment`;
    if (opts.encoded && (seg.includes('/') || seg.includes('\\') || seg.includes('\0'))) return `segment "${raw}" decodes to a separator`;
  }
  return undefined;
}
