/** Runs the load generator (bench/load.ts) in a child process, pinned to CPU 1 when taskset exists. */
import { execFile, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

export const hasTaskset = spawnSync('taskset', ['--version']).status === 0;

export interface LoadResult {
  rps: number;
  p99: number;
  errors: number;
  /** Mean response bytes (body and headers): shows every target answered the same thing. */
  bytesPerRequest?: number;
}

export function load(url: string, paths: string[], opts: { connections: number; seconds: number; accept?: string }): Promise<LoadResult> {
  const argv = [process.execPath, '--import', 'tsx', 'bench/load.ts', url, String(opts.connections), String(opts.seconds), opts.accept ?? '', ...paths];
  const [cmd, ...args] = hasTaskset ? ['taskset', '-c', '1', ...argv] : argv;
  return new Promise((resolve, reject) => {
    execFile(cmd!, args, { maxBuffer: 1 << 20 }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadResult)));
  });
}

/** The target (this process) on CPU 0, the load generator on CPU 1. */
export function pinSelf(): void {
  if (hasTaskset) spawnSync('taskset', ['-cp', '0', String(process.pid)]);
}

/** Every CPU for this process again (not availableParallelism(): it counts only the CPUs we are pinned to). */
export function unpinSelf(): void {
  if (hasTaskset) spawnSync('taskset', ['-acp', `0-${cpus().length - 1}`, String(process.pid)]);
}
