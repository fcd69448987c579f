/**
 * Runs the load generator in a child process, pinned to CPU 1 when taskset exists (the target
 * is on CPU 0). wrk (Debian's, one thread, bench/wrk-rotate.lua) when it is installed, as
 * /work/shared/specs/benchmarking.md advises: it is steadier than a Node generator sharing 2
 * cores and does not itself limit large responses; autocannon (bench/load.ts) otherwise, or
 * with BENCH_LOADGEN=autocannon.
 */
import { execFile, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ALL_CORES } from './settings.js';

export const hasTaskset = spawnSync('taskset', ['--version']).status === 0;
export const loadGenerator: 'wrk' | 'autocannon' = process.env.BENCH_LOADGEN !== 'autocannon' && spawnSync('wrk', ['-v']).error === undefined ? 'wrk' : 'autocannon';

export interface LoadResult {
  rps: number;
  p99: number;
  errors: number;
  /** Mean response bytes (body and headers): shows every target answered the same thing. */
  bytesPerRequest?: number;
}

export function load(url: string, paths: string[], opts: { connections: number; seconds: number; accept?: string }): Promise<LoadResult> {
  const argv = loadGenerator === 'wrk'
    ? ['wrk', '-t1', `-c${opts.connections}`, `-d${opts.seconds}s`, '--timeout', '30s', '-s', join(process.cwd(), 'bench', 'wrk-rotate.lua'), url, '--', ...paths]
    : [process.execPath, '--import', 'tsx', 'bench/load.ts', url, String(opts.connections), String(opts.seconds), opts.accept ?? '', ...paths];
  const [cmd, ...args] = hasTaskset && !ALL_CORES ? ['taskset', '-c', '1', ...argv] : argv;
  const env = { ...process.env, BENCH_ACCEPT: opts.accept ?? '' };
  return new Promise((resolve, reject) => {
    execFile(cmd!, args, { maxBuffer: 1 << 20, env }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadResult)));
  });
}

/** The target (this process) on CPU 0, the load generator on CPU 1. */
export function pinSelf(): void {
  if (hasTaskset && !ALL_CORES) spawnSync('taskset', ['-cp', '0', String(process.pid)]);
}

/** Every CPU for this process again (not availableParallelism(): it counts only the CPUs we are pinned to). */
export function unpinSelf(): void {
  if (hasTaskset) spawnSync('taskset', ['-acp', `0-${cpus().length - 1}`, String(process.pid)]);
}
