/**
 * Runs the machine's real `pip` isolated from the machine's own configuration: no PIP_*
 * variables, PIP_CONFIG_FILE pointing at the given file (or /dev/null: pip then reads no
 * configuration file at all), a temp HOME, no cache, no proxies, and a timeout.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PipResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runPip(args: string[], opts: { configFile?: string; timeoutMs?: number } = {}): Promise<PipResult> {
  const home = await mkdtemp(join(tmpdir(), 'countersign-pip-home-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    PIP_CONFIG_FILE: opts.configFile ?? '/dev/null',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_INPUT: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
  // pyenv's shims find the interpreter through these.
  for (const k of ['PYENV_ROOT', 'PYENV_VERSION']) if (process.env[k]) env[k] = process.env[k];
  try {
    return await new Promise<PipResult>((resolve) => {
      execFile('python3', ['-m', 'pip', ...args, '--no-cache-dir', '--timeout', '30', '--retries', '0'], { env, timeout: opts.timeoutMs ?? 180_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
