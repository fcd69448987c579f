/**
 * Debian trixie's SwiftPM (`swiftlang`, Swift 6.0), for the opt-in Swift e2e test
 * (COUNTERSIGN_E2E_SWIFT=1). Bookworm has no Swift, and trixie's toolchain needs trixie's glibc
 * and spawns its own compilers and linker, so it runs in a chroot of trixie's files
 * (scripts/fetch-trixie-swift.sh) inside a private mount namespace with /proc and /dev mounted.
 * Needs root (chroot, mount). The chroot shares the network: the mirror on 127.0.0.1 is reachable.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

export interface SwiftToolchain {
  /** The chroot directory. */
  root: string;
  /** A fresh directory inside the chroot: its path outside, and the same directory as the chroot sees it. */
  scratch(): Promise<{ outside: string; inside: string; remove(): Promise<void> }>;
  /**
   * Runs a shell command in the chroot (cwd and env given as the chroot sees them). `caBundle`
   * (a path outside) is mounted over the chroot's /etc/ssl/certs/ca-certificates.crt for this run
   * only: Foundation's URLSession on Linux trusts libcurl's default bundle and nothing else.
   */
  run(command: string, opts: { cwd: string; env?: Record<string, string>; caBundle?: string; timeoutMs?: number }): Promise<{ code: number; output: string }>;
}

export function swiftToolchain(): SwiftToolchain {
  const dir = resolve(process.env.COUNTERSIGN_SWIFT_DIR ?? '.tools/trixie-swift');
  const root = join(dir, 'root');
  if (!existsSync(join(root, '.complete'))) {
    const r = spawnSync('sh', ['scripts/fetch-trixie-swift.sh', dir], { encoding: 'utf8', timeout: 1_800_000 });
    if (r.status !== 0 || !existsSync(join(root, '.complete'))) {
      throw new Error(`trixie swiftlang is not available in ${dir}: scripts/fetch-trixie-swift.sh failed (status ${r.status}): ${(r.stderr || r.stdout || String(r.error)).slice(-2000)}`);
    }
  }
  return {
    root,
    async scratch() {
      const outside = await mkdtemp(join(root, 'tmp', 'countersign-e2e-'));
      return { outside, inside: outside.slice(root.length), remove: () => rm(outside, { recursive: true, force: true }) };
    },
    async run(command, opts) {
      const bundle = join(root, 'etc', 'ssl', 'certs', 'ca-certificates.crt');
      if (opts.caBundle && !existsSync(bundle)) {
        await mkdir(dirname(bundle), { recursive: true });
        await writeFile(bundle, '');
      }
      const env = Object.entries({ PATH: '/usr/libexec/swift/bin:/usr/bin:/bin', HOME: '/root', ...opts.env })
        .map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
      const inner = `cd ${shellQuote(opts.cwd)} && env -i ${env} sh -c ${shellQuote(command)}`;
      const mounts = [
        `mount -t proc proc ${shellQuote(join(root, 'proc'))}`,
        `mount --bind /dev ${shellQuote(join(root, 'dev'))}`,
        ...(opts.caBundle ? [`mount --bind ${shellQuote(opts.caBundle)} ${shellQuote(bundle)}`] : []),
      ];
      const outer = `${mounts.join(' && ')} && chroot ${shellQuote(root)} sh -c ${shellQuote(inner)}`;
      return new Promise((resolvePromise) => {
        const child = spawn('unshare', ['--mount', '--fork', 'sh', '-c', outer], { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
        child.stderr.on('data', (c: Buffer) => { output += c.toString(); });
        const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolvePromise({ code: code ?? -1, output });
        });
      });
    },
  };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
