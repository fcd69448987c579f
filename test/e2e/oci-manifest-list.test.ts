/**
 * A Docker manifest list of Docker schema 2 images (pushed to Debian's docker-registry with its
 * push API) pulled through the mirror by trixie's skopeo with a sigstoreSigned policy, `--all`
 * and for one instance, and checked by trixie's cosign: the list and every child are signed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PushedList } from '../helpers/docker-manifest-list.js';
import { startFixtureRegistry, type FixtureRegistry } from '../helpers/oci-fixture-registry.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { trixieVerifiers, type Verifiers } from '../helpers/trixie-verifiers.js';

interface RunResult { code: number; stdout: string; stderr: string }

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('skopeo and cosign with a Docker manifest list through the mirror', () => {
  let tools: Verifiers;
  let registry: FixtureRegistry;
  let mirror: RunningMirror;
  let work: string;
  let host: string;
  let pushed: PushedList;
  let keyFile: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    tools = trixieVerifiers();
    work = await mkdtemp(join(tmpdir(), 'countersign-oci-list-e2e-'));
    registry = await startFixtureRegistry();
    pushed = await registry.pushDockerList('demo/list', 'multi', [
      { os: 'linux', architecture: 'amd64', files: { 'arch.txt': 'amd64\n' } },
      { os: 'linux', architecture: 'arm64', files: { 'arch.txt': 'arm64\n' } },
    ]);
    mirror = await startMirror({ repositories: [{ name: 'hub', format: 'oci', upstream: registry.url }] });
    host = new URL(mirror.url).host;
    keyFile = join(work, 'cosign.pub');
    await writeFile(keyFile, Buffer.from(await (await mirror.get('/-/keys/cosign.pub')).arrayBuffer()));
    await mkdir(join(work, 'home'), { recursive: true });
    env = { PATH: process.env.PATH, HOME: join(work, 'home'), TMPDIR: work, DOCKER_CONFIG: join(work, 'home', '.docker') };
  });
  after(async () => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function skopeoCopy(extra: string[]): Promise<RunResult & { out: string }> {
    const dir = await mkdtemp(join(work, 'skopeo-'));
    const policy = join(dir, 'policy.json');
    await writeFile(policy, JSON.stringify({
      default: [{ type: 'reject' }],
      transports: { docker: { [`${host}/hub`]: [{ type: 'sigstoreSigned', keyPath: keyFile, signedIdentity: { type: 'matchRepository' } }] } },
    }));
    await mkdir(join(dir, 'registries.d'));
    await writeFile(join(dir, 'registries.d', 'countersign.yaml'), `docker:\n  ${host}:\n    use-sigstore-attachments: true\n`);
    const out = join(dir, 'out');
    const args = ['--policy', policy, '--registries.d', join(dir, 'registries.d'), 'copy', '--src-tls-verify=false', ...extra,
      `docker://${host}/hub/demo/list:multi`, `dir:${out}`];
    return { ...(await run(tools.skopeo, args, env)), out };
  }

  test('skopeo copy --all: the list and both instances verify; the list arrives byte for byte', async () => {
    const r = await skopeoCopy(['--all']);
    assert.equal(r.code, 0, `skopeo copy --all failed:\n${r.stderr}`);
    const list = await readFile(join(r.out, 'manifest.json'));
    assert.equal(sha256(list), pushed.digest, 'the list digest is intact end to end');
    const files = await readdir(r.out);
    for (const child of pushed.children) {
      assert.ok(files.includes(`${child.digest.slice('sha256:'.length)}.manifest.json`), `instance ${child.digest} copied`);
    }
  });

  test('skopeo copy of one instance (picked from the list by platform) verifies too', async () => {
    const r = await skopeoCopy(['--override-os', 'linux', '--override-arch', 'arm64']);
    assert.equal(r.code, 0, `skopeo copy (arm64) failed:\n${r.stderr}`);
    const manifest = await readFile(join(r.out, 'manifest.json'));
    assert.equal(sha256(manifest), pushed.children[1]!.digest);
  });

  test('cosign verify accepts the list by tag and each child by digest', async () => {
    const refs = [`${host}/hub/demo/list:multi`, ...pushed.children.map((c) => `${host}/hub/demo/list@${c.digest}`)];
    for (const ref of refs) {
      const r = await run(tools.cosign, ['verify', '--key', keyFile, '--insecure-ignore-tlog=true', '--allow-insecure-registry', ref], env);
      assert.equal(r.code, 0, `cosign verify ${ref} failed:\n${r.stderr}`);
    }
  });
});
