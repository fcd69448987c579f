/**
 * Debian's dnf 4 as a client of one mirror repository, fully isolated: its own dnf.conf, repo
 * directory, cache and installroot under a temporary directory, the .repo file taken verbatim from
 * the mirror's `/<repo>/-/setup`. Nothing touches the machine's rpmdb or dnf configuration.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CommandResult {
  code: number;
  out: string;
}

/** Exit code and output of a command that may fail. */
export async function attempt(cmd: string, args: string[], timeoutMs = 120_000): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await run(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

export interface DnfClient {
  dir: string;
  repoFile: string;
  /** Runs dnf with only this repository enabled (`-y`, so key imports are accepted). */
  dnf(...args: string[]): Promise<CommandResult>;
  /** A file inside the installroot. */
  installed(path: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** A dnf client for `repository`, configured by the `.repo` text given (normally the mirror's setup text). */
export async function dnfClient(repository: string, repoFileText: string): Promise<DnfClient> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-dnf-'));
  await mkdir(join(dir, 'yum.repos.d'), { recursive: true });
  await mkdir(join(dir, 'root'), { recursive: true });
  await writeFile(join(dir, 'dnf.conf'), ['[main]', `reposdir=${dir}/yum.repos.d`, `cachedir=${dir}/cache`, `persistdir=${dir}/persist`, `logdir=${dir}/log`, ''].join('\n'));
  await writeFile(join(dir, 'yum.repos.d', `${repository}.repo`), repoFileText);
  return {
    dir,
    repoFile: repoFileText,
    dnf: (...args) => attempt('dnf', ['-c', join(dir, 'dnf.conf'), `--installroot=${join(dir, 'root')}`, '--releasever=1', '-y', '--disablerepo=*', `--enablerepo=${repository}`, ...args]),
    installed: (path) => readFile(join(dir, 'root', path), 'utf8').catch(() => undefined),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
