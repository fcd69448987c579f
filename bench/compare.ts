/**
 * Runs the same load against the mirror and its anchors, one target at a time, in interleaved
 * rounds (A B C A B C …), keeps each target's best round (other load on a shared machine only
 * ever slows a target down) and prints one table with ratios against the anchors, all measured
 * in this run. Asserts that no measured round reached the fixture upstream.
 */
import { cpus } from 'node:os';
import { load, loadGenerator, type LoadResult } from './load-child.js';
import { CORES_NOTE } from './settings.js';
import { isSkipped, peakOf, type Skipped, type Target } from './anchors/target.js';

export interface Measured {
  target: Target;
  /** The paths (and Accept header) this target is asked for: the same objects under its own URLs. */
  paths: string[];
  accept?: string;
}

export interface CompareOptions {
  title: string;
  connections: number;
  seconds: number;
  rounds: number;
  /** 'rps': best = highest req/s; 'p99': best = lowest p99. */
  best: 'rps' | 'p99';
  /** Upstream requests so far; must not grow while measuring. */
  upstreamRequests: () => number;
}

export interface Row {
  name: string;
  result: LoadResult;
  peak: string;
}

export async function compare(measured: Measured[], skipped: Skipped[], opts: CompareOptions): Promise<Row[]> {
  const before = opts.upstreamRequests();
  const best = new Map<string, LoadResult>();
  for (let round = 0; round < opts.rounds; round++) {
    const line: string[] = [];
    for (const m of measured) {
      const r = await load(m.target.url, m.paths, { connections: opts.connections, seconds: opts.seconds, ...(m.accept ? { accept: m.accept } : {}) });
      const prev = best.get(m.target.name);
      const better = !prev || (opts.best === 'rps' ? r.rps > prev.rps : r.p99 < prev.p99);
      if (better) best.set(m.target.name, r);
      line.push(`${m.target.name} ${r.rps.toFixed(0)}/s p99 ${r.p99} ms${r.errors ? ` errors ${r.errors}` : ''}`);
    }
    console.log(`    round ${round + 1}: ${line.join(' | ')}`);
  }
  const reached = opts.upstreamRequests() - before;
  if (reached !== 0) throw new Error(`${opts.title}: the measured rounds reached the fixture upstream ${reached} times (a cache was not warm)`);
  const rows = measured.map((m) => ({ name: m.target.name, result: best.get(m.target.name)!, peak: peakOf(m.target) }));
  printTable(opts, rows, skipped);
  return rows;
}

function printTable(opts: CompareOptions, rows: Row[], skipped: Skipped[]): void {
  console.log(`  ${opts.title} — ${opts.connections} connections, ${opts.seconds} s a round, best of ${opts.rounds} (by ${opts.best === 'rps' ? 'req/s' : 'p99'}); load: ${loadGenerator}; ${CORES_NOTE}; shared noisy ${cpus().length}-core machine`);
  const width = Math.max(...rows.map((r) => r.name.length), 12);
  for (const r of rows) {
    console.log(`    ${r.name.padEnd(width)}  ${r.result.rps.toFixed(0).padStart(7)} req/s  p99 ${String(r.result.p99).padStart(6)} ms  errors ${r.result.errors}  ${((r.result.bytesPerRequest ?? 0) / 1024).toFixed(0)} KiB/response  peak RSS ${r.peak}`);
  }
  for (const s of skipped) console.log(`    ${s.name.padEnd(width)}  skipped: ${s.skipped}`);
  const mirror = rows.find((r) => r.name === 'countersign');
  if (!mirror) return;
  const ratios = rows.filter((r) => r !== mirror).map((r) =>
    opts.best === 'rps'
      ? `mirror/${r.name} ${(mirror.result.rps / Math.max(1, r.result.rps)).toFixed(2)}x req/s, ${(mirror.result.p99 / Math.max(1, r.result.p99)).toFixed(2)}x p99`
      : `mirror/${r.name} ${(mirror.result.p99 / Math.max(1, r.result.p99)).toFixed(2)}x p99, ${(mirror.result.rps / Math.max(1, r.result.rps)).toFixed(2)}x req/s`);
  for (const r of ratios) console.log(`    ratio ${r}`);
}

/** Starts what can be started; what cannot is reported, not fatal. */
export function split(started: (Target | Skipped)[]): { targets: Target[]; skipped: Skipped[] } {
  return { targets: started.filter((t): t is Target => !isSkipped(t)), skipped: started.filter(isSkipped) };
}
