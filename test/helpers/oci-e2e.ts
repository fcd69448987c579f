/**
 * The world the OCI e2e tests share: a work directory, the fixture registry
 * (./oci-fixture-registry.ts) filled by the test's `publish` step, the mirror with one oci
 * repository `hub` in front of it, the org's cosign.pub downloaded from /-/keys/cosign.pub, an
 * env (HOME, DOCKER_CONFIG, TMPDIR in the work directory) for the client programs, and Debian
 * trixie's cosign and skopeo (./trixie-verifiers.ts) run as a client runs them.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigInput } from '../../src/config/schema.js';
import { CosignSigner } from './cosign-signer.js';
import { startFixtureRegistry, type FixtureRegistry } from './oci-fixture-registry.js';
import { OciLayout, type ImagePlatform } from './oci-image.js';
import { removeDir, startMirror, type RunningMirror } from './mirror-harness.js';
import { trixieVerifiers, type Verifiers } from './trixie-verifiers.js';

export interface RunResult { code: number; stdout: string; stderr: string }

/** Runs a program to its end (2 minutes at most); a failure is its exit code (1 when it has none), never a throw. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The two platforms of the multi-platform test images: one `arch.txt` naming each. */
export const AMD64_AND_ARM64: ImagePlatform[] = [
  { os: 'linux', architecture: 'amd64', files: { 'arch.txt': 'amd64\n' } },
  { os: 'linux', architecture: 'arm64', files: { 'arch.txt': 'arm64\n' } },
];

/** Digests of the demo images and the layout they were built in (to add more images to). */
export interface DemoImages {
  layout: OciLayout;
  /** demo/app:v1, a single-platform image. */
  app: string;
  /** demo/multi:multi, an index of AMD64_AND_ARM64. */
  multi: string;
}

/**
 * Builds an OCI layout in `<work>/layout` with `v1` (one platform, `hello.txt` = helloText) and
 * `multi` (AMD64_AND_ARM64), and pushes them as demo/app:v1 and demo/multi:multi (--all).
 */
export async function pushDemoImages(registry: FixtureRegistry, work: string, helloText = 'hello\n'): Promise<DemoImages> {
  const layout = new OciLayout(join(work, 'layout'));
  const app = await layout.add({ tag: 'v1', platforms: [{ os: 'linux', architecture: 'amd64', files: { 'hello.txt': helloText } }] });
  const multi = await layout.add({ tag: 'multi', platforms: AMD64_AND_ARM64 });
  await registry.push(layout.dir, 'v1', 'demo/app');
  await registry.push(layout.dir, 'multi', 'demo/multi', { all: true });
  return { layout, app, multi };
}

/** Writes a fresh P-256 public key (one nothing was signed with) to `<dir>/other.pub`; its path. */
export async function writeUnrelatedKey(dir: string): Promise<string> {
  const file = join(dir, 'other.pub');
  await writeFile(file, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
  return file;
}

type RepositoryInput = NonNullable<ConfigInput['repositories']>[number];

export interface OciWorldOptions<Published> {
  /** Prefix of the work directory's name in the system temp directory. */
  workPrefix: string;
  /** What the upstream publishes before the mirror starts (push, sign); its result is `published`. */
  publish: (upstream: { registry: FixtureRegistry; work: string }) => Promise<Published>;
  /** More settings of the mirror's `hub` repository (verify, trust, …), made from what was published. */
  hub?: (published: Published) => Partial<RepositoryInput>;
}

/** skopeo copy from `<through>/hub/<image>` under a policy that accepts only sigstoreSigned images. */
export interface VerifiedCopy {
  /** The policy's keyPath. */
  key: string;
  /** name:tag or name@digest under the repository. */
  image: string;
  /** The policy's signedIdentity; matchRepository when not given. */
  signedIdentity?: object;
  /** Arguments of `copy` before the source (--all, --override-arch …). */
  extra?: string[];
  /** host:port the image is copied from, whose `<host>/hub` the policy names and whose sigstore attachments are read; the mirror's when not given. */
  through?: string;
}

export interface OciWorld<Published> {
  tools: Verifiers;
  registry: FixtureRegistry;
  mirror: RunningMirror;
  /** The temp directory all the files of the test live in (removed by close()). */
  work: string;
  /** host:port of the mirror, as a docker reference host. */
  host: string;
  /** The org's cosign public key, downloaded from the mirror's /-/keys/cosign.pub. */
  orgPub: string;
  /** Environment of the client programs: HOME and DOCKER_CONFIG in the work directory. */
  env: NodeJS.ProcessEnv;
  published: Published;
  cosign(args: string[]): Promise<RunResult>;
  skopeo(args: string[]): Promise<RunResult>;
  /** `cosign verify --key <key>` of `ref` with the transparency log off, over http. */
  cosignVerify(key: string, ref: string): Promise<RunResult>;
  /** skopeo copy into `<fresh dir>/out` (`out`), with its own policy.json and registries.d. */
  skopeoCopyVerified(copy: VerifiedCopy): Promise<RunResult & { out: string }>;
  close(): Promise<void>;
}

/** The publisher signs (cosign sign --recursive) every tag in the fixture registry; the public key file. */
async function signEveryTag(registry: FixtureRegistry, work: string): Promise<string> {
  const signer = new CosignSigner(join(work, 'publisher'));
  await mkdir(join(work, 'publisher'), { recursive: true });
  const pair = await signer.generateKeyPair('upstream');
  const base = `http://${registry.backendHost}/v2`;
  const { repositories } = (await (await fetch(`${base}/_catalog`)).json()) as { repositories: string[] };
  for (const name of repositories) {
    const { tags } = (await (await fetch(`${base}/${name}/tags/list`)).json()) as { tags: string[] | null };
    for (const tag of tags ?? []) {
      if (/^sha256-[0-9a-f]{64}\.sig$/.test(tag)) continue;
      const head = await fetch(`${base}/${name}/manifests/${tag}`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } });
      const digest = head.headers.get('docker-content-digest');
      if (!digest) throw new Error(`no digest for ${name}:${tag}`);
      await signer.sign(`${registry.backendHost}/${name}@${digest}`, pair, { recursive: true });
    }
  }
  return pair.pub;
}

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/**
 * Starts the world; on failure it stops what it started and throws. A test's `after` calls
 * close() (mirror, registry, the mirror's data directory, the work directory).
 */
export async function startOciWorld<Published>(options: OciWorldOptions<Published>): Promise<OciWorld<Published>> {
  let registry: FixtureRegistry | undefined;
  let mirror: RunningMirror | undefined;
  let work: string | undefined;
  const close = async (): Promise<void> => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
    if (work) await rm(work, { recursive: true, force: true });
  };
  try {
    const tools = trixieVerifiers();
    work = await mkdtemp(join(tmpdir(), options.workPrefix));
    registry = await startFixtureRegistry();
    const published = await options.publish({ registry, work });
    const hub = options.hub?.(published) ?? {};
    // verify: require needs pinned upstream cosign keys (issue 9): unless the test chose its own
    // trust, the upstream publisher signs every tag it pushed and the mirror pins that key.
    const pinned = hub.verify === undefined && hub.trust === undefined ? { verify: 'require' as const, trust: { cosignKeys: [await signEveryTag(registry, work)] } } : {};
    mirror = await startMirror({ repositories: [{ name: 'hub', format: 'oci', upstream: registry.url, ...pinned, ...hub } as RepositoryInput] });
    const host = new URL(mirror.url).host;
    const orgPub = join(work, 'org-cosign.pub');
    await writeFile(orgPub, Buffer.from(await (await mirror.get('/-/keys/cosign.pub')).arrayBuffer()));
    await mkdir(join(work, 'home'), { recursive: true });
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: join(work, 'home'), TMPDIR: work, DOCKER_CONFIG: join(work, 'home', '.docker') };
    const workDir = work;
    const cosign = (args: string[]): Promise<RunResult> => run(tools.cosign, args, env);
    const skopeo = (args: string[]): Promise<RunResult> => run(tools.skopeo, args, env);
    return {
      tools, registry, mirror, work, host, orgPub, env, published, cosign, skopeo,
      cosignVerify: (key, ref) => cosign(['verify', '--key', key, '--insecure-ignore-tlog=true', '--allow-insecure-registry', ref]),
      async skopeoCopyVerified({ key, image, signedIdentity = { type: 'matchRepository' }, extra = [], through = host }) {
        const dir = await mkdtemp(join(workDir, 'skopeo-'));
        const policy = join(dir, 'policy.json');
        await writeFile(policy, JSON.stringify({
          default: [{ type: 'reject' }],
          transports: { docker: { [`${through}/hub`]: [{ type: 'sigstoreSigned', keyPath: key, signedIdentity }] } },
        }));
        await mkdir(join(dir, 'registries.d'));
        await writeFile(join(dir, 'registries.d', 'countersign.yaml'), `docker:\n  ${through}:\n    use-sigstore-attachments: true\n`);
        const out = join(dir, 'out');
        const r = await skopeo(['--policy', policy, '--registries.d', join(dir, 'registries.d'), 'copy', '--src-tls-verify=false', ...extra,
          `docker://${through}/hub/${image}`, `dir:${out}`]);
        return { ...r, out };
      },
      close,
    };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}
