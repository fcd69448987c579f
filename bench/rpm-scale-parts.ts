/**
 * Parts of the RPM scale bench (rpm-scale.ts): a static HTTP server over a built repository
 * directory (the upstream, for dnf directly and for the mirror alike), the mirror as its own
 * process (`countersign serve`, as deployed, so /proc/<pid>/status is the mirror's alone), and an
 * isolated dnf run timed from the outside.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { configText, freePort } from '../test/helpers/mirror-harness.js';
import { dnfClient, type CommandResult } from '../test/helpers/rpm-dnf-client.js';

const BIN = join(process.cwd(), 'bin', 'countersign.js');

export interface StaticUpstream {
  url: string;
  /** Requests answered, by path prefix (e.g. "/Packages/"). */
  requests(prefix?: string): number;
  close(): Promise<void>;
}

/** Serves `root` read-only on 127.0.0.1, streaming each file from disk. */
export async function serveDirectory(root: string): Promise<StaticUpstream> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    seen.push(path);
    const file = normalize(join(root, path));
    if (!file.startsWith(root + sep)) return void res.writeHead(404).end();
    stat(file).then((s) => {
      if (!s.isFile()) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': s.size, 'last-modified': s.mtime.toUTCString() });
      createReadStream(file).pipe(res);
    }, () => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: (prefix = '/') => seen.filter((p) => p.startsWith(prefix)).length,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export interface MirrorProcess {
  url: string;
  pid: number;
  /** VmRSS / VmHWM of the mirror process, in MiB. */
  memory(): { rssMib: number; peakMib: number };
  close(): Promise<void>;
}

/** `countersign serve` with one rpm repository, in its own process on a fresh port. */
export async function startMirrorProcess(dataDir: string, repository: Record<string, unknown>): Promise<MirrorProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configFile = join(dataDir, 'config.yaml');
  await writeFile(configFile, configText({ listen: { host: '127.0.0.1', port }, publicUrl: url, dataDir, log: { level: 'error' }, repositories: [repository as never] }));
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; ; i++) {
    if ((await fetch(`${url}/-/health`).catch(() => undefined))?.ok) break;
    if (i > 600 || child.exitCode !== null) throw new Error('the mirror did not start');
    await sleep(100);
  }
  const vm = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  return {
    url,
    pid: child.pid!,
    memory: () => ({ rssMib: Math.round(vm('VmRSS')), peakMib: Math.round(vm('VmHWM')) }),
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface TimedDnf extends CommandResult {
  seconds: number;
}

/** One dnf command in a fresh, isolated client configured by `repoFile`; throws when dnf fails. */
export async function timedDnf(repository: string, repoFile: string, ...args: string[]): Promise<TimedDnf> {
  const client = await dnfClient(repository, repoFile);
  try {
    const started = process.hrtime.bigint();
    const r = await client.dnf(...args);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (r.code !== 0) throw new Error(`dnf ${args.join(' ')} failed after ${seconds.toFixed(1)} s:\n${r.out.slice(-2000)}`);
    return { ...r, seconds };
  } finally {
    await client.close();
  }
}
