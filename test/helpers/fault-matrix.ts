/**
 * One table-driven fault campaign for every format (issue 10, "Faults"): each format names a
 * cold object (never fetched) and a cached, signed index; the helper breaks the upstream in
 * each way below and records what the mirror did. The invariant checked in every cell: the
 * client gets the exact good bytes (fresh or the stale copy) or a typed MirrorError body,
 * never other bytes; nothing wrong is stored; and once the fault is gone the same request
 * is served (a mirror that refuses everything fails every cell).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { ERROR_CODES } from '../../src/errors.js';
import type { FixtureMode, FixtureUpstream } from './fixture-upstream.js';
import type { RunningMirror } from './mirror-harness.js';

export const TRANSPORT_FAULTS = ['reset', 'timeout', '5xx', 'truncated body', 'tampered body', 'slow drip'] as const;
export const TRUST_FAULTS = ['wrong key', 'expired signature', 'malformed index'] as const;
export type Fault = (typeof TRANSPORT_FAULTS)[number] | (typeof TRUST_FAULTS)[number];

/** Upstream timeouts the matrix configures, so "timeout" and "slow drip" are told apart without waiting long. */
export const MATRIX_TIMEOUTS = { connect: '2s', headers: '800ms', body: '800ms' };
const MODES: Record<(typeof TRANSPORT_FAULTS)[number], FixtureMode> = {
  reset: 'reset',
  timeout: { slowMs: 3_000 },
  '5xx': { status: 503 },
  'truncated body': 'truncate',
  'tampered body': 'tamper',
  // Each pause well under the body timeout: slow, but alive.
  'slow drip': { trickleMs: 60, chunkBytes: 4096 },
};

export interface Target {
  /** Request path on the mirror. */
  path: string;
  /** Upstream pathnames the fault is applied to (the object, or the index and its signature). */
  upstream: string[];
  /** The bytes a correct answer carries (empty: whatever the mirror serves once the fault is gone, see runMatrix). */
  good: Buffer;
  /** The upstream's bytes, when the mirror serves others (re-signed artifacts); default `good`. */
  upstreamBytes?: Buffer;
  accept?: string;
}

export interface FormatCase {
  format: string;
  mirror: RunningMirror;
  upstream: FixtureUpstream;
  ttlMs: number;
  /** An object nothing has fetched yet (a new one for each call); undefined when the format has none (coldNote says why). */
  cold(): Promise<Target | undefined>;
  coldNote?: string;
  /** The signed index, fetched and cached by the mirror before returning. */
  warmIndex(): Promise<Target>;
  /** Republishes the index broken this way (the next fetch sees it); undefined: not applicable to the format. */
  breakIndex: Partial<Record<(typeof TRUST_FAULTS)[number], () => Promise<Judge | void>>>;
  /**
   * Serves the index's current bytes as plain files, where the fixture computes them in a
   * handler: the fixture's truncate/tamper/trickle modes apply to files only.
   */
  staticIndex?(): Promise<void>;
  /** Publishes a new good revision of the index (also undoes breakIndex). */
  repairIndex(): Promise<void>;
}

/**
 * Judges a 200 whose body is not the previous good bytes (a format that drops what fails and
 * serves the rest, like npm dropping one badly signed version): the outcome label, or throws.
 */
export type Judge = (body: Buffer) => string;

export type Row = Record<Fault, string>;

/** Marks an outcome that breaks the invariant (a 200 with bytes that are neither fresh nor the stale copy). */
export const VIOLATION = 'VIOLATION:';

/** The cells of a row that break the invariant, as "fault: outcome". */
export function violations(row: Row): string[] {
  return Object.entries(row)
    .filter(([, outcome]) => outcome.includes(VIOLATION))
    .map(([fault, outcome]) => `${fault}: ${outcome}`);
}

/** Runs every fault against one format; returns the outcome per fault for the table. */
export async function runMatrix(c: FormatCase): Promise<Row> {
  const row = {} as Row;
  // Trust faults first: staticIndex (transport faults) may freeze a fixture's index into files.
  for (const fault of TRUST_FAULTS) {
    const broken = c.breakIndex[fault];
    if (!broken) {
      row[fault] = 'n/a';
      continue;
    }
    const index = await c.warmIndex();
    const judge = (await broken()) ?? undefined;
    c.mirror.advanceClock(c.ttlMs + 1_000);
    const outcome = await request(c, index, judge);
    await c.repairIndex();
    c.mirror.advanceClock(c.ttlMs + 1_000);
    await assertServedAfter(c, await c.warmIndex(), fault);
    row[fault] = `index: ${outcome}`;
  }
  for (const fault of TRANSPORT_FAULTS) {
    const cold = await c.cold();
    let coldOutcome = c.coldNote ?? 'n/a';
    if (cold) {
      // Re-signed artifacts (RPM) have no good bytes known in advance: a 200 under the fault must equal the clean answer.
      let underFault: Buffer | undefined;
      coldOutcome = await withFault(c.upstream, cold.upstream, MODES[fault], () =>
        request(c, cold, cold.good.length > 0 ? undefined : (body) => ((underFault = body), 'exact bytes')),
      );
      await assertNothingBadStored(c, cold);
      await assertServedAfter(c, underFault ? { ...cold, good: underFault } : cold, `${fault} (cold)`);
    }

    const index = await c.warmIndex();
    // A new revision upstream, so the fault hits a full body and not a 304 to a conditional request.
    await c.repairIndex();
    await c.staticIndex?.();
    c.mirror.advanceClock(c.ttlMs + 1_000);
    // Under a fault that still delivers (slow drip), the answer is the new revision: judged once it is known.
    let fresh: Buffer | undefined;
    const staleOutcome = await withFault(c.upstream, index.upstream, MODES[fault], () =>
      request(c, index, (body) => {
        fresh = body;
        return 'new revision';
      }),
    );
    c.mirror.advanceClock(c.ttlMs + 1_000);
    const next = await c.warmIndex();
    if (fresh) assert.equal(sha(fresh), sha(next.good), `${c.format} ${index.path} under ${fault}: a 200 that is not the stale copy is the new revision`);
    await assertServedAfter(c, next, `${fault} (index)`);
    row[fault] = `cold: ${coldOutcome}; index: ${staleOutcome}`;
  }
  return row;
}

async function withFault<T>(upstream: FixtureUpstream, paths: string[], mode: FixtureMode, run: () => Promise<T>): Promise<T> {
  if (process.env.MATRIX_DEBUG) appendFileSync(process.env.MATRIX_DEBUG, `${`matrix fault ${JSON.stringify(mode)} on ${paths.join(" ")}`}\n`);
  for (const p of paths) upstream.setMode(p, mode);
  try {
    return await run();
  } finally {
    upstream.clearModes();
  }
}

/** The outcome as the table shows it; fails the cell on any answer that is neither good bytes nor a typed error. */
async function request(c: FormatCase, t: Target, judge?: Judge): Promise<string> {
  if (process.env.MATRIX_DEBUG) appendFileSync(process.env.MATRIX_DEBUG, `${`matrix ${c.format} GET ${t.path}`}\n`);
  const res = await c.mirror.get(t.path, t.accept ? { headers: { accept: t.accept } } : {});
  let body: Buffer;
  try {
    body = Buffer.from(await res.arrayBuffer());
  } catch {
    // A blob streamed while it downloads: the mirror withholds the end and cuts the connection when the
    // upstream fails, so the client never holds a complete wrong body.
    return `${res.status} then connection cut before the end`;
  }
  if (process.env.MATRIX_DEBUG) appendFileSync(process.env.MATRIX_DEBUG, `  -> ${res.status} ${res.headers.get('x-countersign-stale') ?? ''} ${body.length}\n`);
  if (res.status === 200 && judge && sha(body) !== sha(t.good)) return `200 ${judge(body)}`;
  if (res.status === 200) {
    // Recorded, not thrown: the test compares the violations with the findings it knows (see runMatrix).
    if (sha(body) !== sha(t.good)) return `${VIOLATION} 200 with other bytes (${body.length} bytes)`;
    const stale = res.headers.get('x-countersign-stale');
    return stale ? '200 stale copy' : '200 exact bytes';
  }
  const code = errorCode(body);
  assert.ok(res.status >= 400, `${c.format} ${t.path}: status ${res.status}`);
  assert.ok(code && code in ERROR_CODES, `${c.format} ${t.path}: a typed error body, got ${body.toString().slice(0, 200)}`);
  return `${res.status} ${code}`;
}

/** The error code in the mirror's JSON body, or in an OCI/npm-shaped one. */
function errorCode(body: Buffer): string | undefined {
  try {
    const doc = JSON.parse(body.toString()) as { code?: string; errors?: { detail?: { code?: string }; code?: string }[] };
    return doc.code ?? doc.errors?.[0]?.detail?.code ?? doc.errors?.[0]?.code;
  } catch {
    return undefined;
  }
}

/** Neither the tampered nor the truncated variant of the object became a stored blob. */
async function assertNothingBadStored(c: FormatCase, t: Target): Promise<void> {
  const stored = c.mirror.app.store.index.referencedBlobs();
  const original = t.upstreamBytes ?? t.good;
  const tampered = Buffer.from(original);
  if (tampered.length > 0) tampered[tampered.length >> 1] = (tampered[tampered.length >> 1] ?? 0) ^ 0xff;
  for (const bad of [tampered, original.subarray(0, original.length >> 1)]) {
    assert.equal(stored.has(sha(bad)), false, `${c.format} ${t.path}: broken bytes were stored`);
  }
}

/**
 * First requests after a fault that still failed (a pooled upstream connection the fault had
 * broken, with `retries: 0`): allowed once, and listed with the table so they are not hidden.
 */
export const slowRecoveries: string[] = [];

async function assertServedAfter(c: FormatCase, t: Target, what: string): Promise<void> {
  let res = await c.mirror.get(t.path, t.accept ? { headers: { accept: t.accept } } : {});
  let body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) {
    slowRecoveries.push(`${c.format} ${t.path} after ${what}: first request ${res.status} ${body.toString().slice(0, 160)}`);
    res = await c.mirror.get(t.path, t.accept ? { headers: { accept: t.accept } } : {});
    body = Buffer.from(await res.arrayBuffer());
  }
  assert.equal(res.status, 200, `${c.format} ${t.path} is served once the fault (${what}) is gone: ${body.toString().slice(0, 200)}`);
  if (t.good.length > 0) assert.equal(sha(body), sha(t.good), `${c.format} ${t.path} after ${what}`);
}

export function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The table, in Markdown, ready for the README. */
export function formatTable(rows: ReadonlyMap<string, Row>): string {
  const faults = [...TRANSPORT_FAULTS, ...TRUST_FAULTS];
  const lines = [`| format | ${faults.join(' | ')} |`, `|---|${faults.map(() => '---').join('|')}|`];
  for (const [format, row] of rows) lines.push(`| ${format} | ${faults.map((f) => row[f]).join(' | ')} |`);
  return lines.join('\n');
}
