/**
 * The real `countersign serve` as a child process, for fault tests that kill it, starve it of
 * disk or read its log: start and wait for /-/health, stop, and `countersign verify-store`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'countersign.js');

export interface ServeChild {
  readonly process: ChildProcess;
  /** Everything the child wrote to stderr (pino's destination) so far. */
  log(): string;
  /** SIGTERM and the exit code. */
  stop(): Promise<number | null>;
}

export async function startServeChild(configFile: string, port: number): Promise<ServeChild> {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`countersign exited with ${child.exitCode}: ${stderr}`);
    return (await fetch(`http://127.0.0.1:${port}/-/health`).catch(() => undefined))?.ok === true;
  }, 30_000);
  return {
    process: child,
    log: () => stderr,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface StoreReport {
  clean: boolean;
  blobs: number;
  corrupt: string[];
  missing: string[];
  partial: string[];
  orphaned: string[];
}

/** `countersign verify-store --json` (exit 1 when unclean still prints the report). */
export async function verifyStoreCli(configFile: string): Promise<StoreReport> {
  const out = await run(process.execPath, [BIN, 'verify-store', '--json', '--config', configFile]).catch((err: { stdout: string; stderr: string }) => err);
  try {
    return JSON.parse(out.stdout) as StoreReport;
  } catch {
    throw new Error(`verify-store printed no report: ${out.stdout} ${out.stderr}`);
  }
}

export async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`condition not met within ${ms} ms`);
}
