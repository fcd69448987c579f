/** What every benchmarked server (the mirror and its anchors) looks like to a bench. */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasTaskset } from '../load-child.js';
import { ALL_CORES } from '../settings.js';
import { peakMiB } from './process-memory.js';

export interface Target {
  /** Shown in the tables: `countersign`, `nginx proxy_cache`, … */
  readonly name: string;
  readonly url: string;
  /** Process ids whose peak RSS the bench reports (the server's own, not the bench's). */
  readonly pids: number[];
  stop(): Promise<void>;
}

/** An anchor that could not be started: the bench prints the reason and goes on without it. */
export interface Skipped {
  readonly name: string;
  readonly skipped: string;
}

export const isSkipped = (t: Target | Skipped): t is Skipped => 'skipped' in t;

export const peakOf = (t: Target): string => {
  const p = peakMiB(t.pids);
  return p === undefined ? 'n/a' : `${p} MiB`;
};

/** The server on CPU 0 (the load generator takes CPU 1, see load-child.ts); `anyCpu`: not pinned. */
export function spawnOnCpu0(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; anyCpu?: boolean } = {}): ChildProcess {
  const [c, ...a] = hasTaskset && !opts.anyCpu && !ALL_CORES ? ['taskset', '-c', '0', cmd, ...args] : [cmd, ...args];
  const child = spawn(c!, a, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  Object.defineProperty(child, 'stderrTail', { get: () => stderr });
  return child;
}

export const stderrTail = (child: ChildProcess): string => (child as ChildProcess & { stderrTail?: string }).stderrTail ?? '';

/** Polls `url` until it answers (any status below 500) or the process exits. */
export async function waitUntilUp(url: string, child: ChildProcess, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(url).catch(() => undefined);
    if (res) {
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 500) return;
    }
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited: ${stderrTail(child)}`);
    if (Date.now() > until) throw new Error(`${what} did not answer ${url} within ${timeoutMs} ms: ${stderrTail(child)}`);
    await sleep(100);
  }
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * A started server process as a Target once `probe` answers; if it never does, the process is
 * stopped, its directory removed and the anchor skipped with the reason.
 */
export async function childTarget(name: string, url: string, probe: string, child: ChildProcess, dir: string, what = name): Promise<Target | Skipped> {
  const stop = async (): Promise<void> => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilUp(`${url}${probe}`, child, what);
  } catch (err) {
    await stop();
    return { name, skipped: (err as Error).message };
  }
  return { name, url, pids: [child.pid!], stop };
}
