/**
 * Images signed upstream by the real `cosign sign --key` (trixie cosign 2.5), pulled through a
 * mirror with `trust.cosignKeys`: the `.sig` the mirror serves carries the upstream's signature
 * and the org's, so `cosign verify` accepts the image with either key, and containers/image
 * (trixie skopeo 1.18) with a sigstoreSigned policy for either.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CosignSigner, type CosignKeyPair } from '../helpers/cosign-signer.js';
import { startFixtureRegistry, type FixtureRegistry } from '../helpers/oci-fixture-registry.js';
import { OciLayout } from '../helpers/oci-image.js';
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

interface Claims { critical: { identity: { 'docker-reference': string }; image: { 'docker-manifest-digest': string } } }

describe('cosign and skopeo verify the upstream signature and the org signature through the mirror', () => {
  let tools: Verifiers;
  let registry: FixtureRegistry;
  let mirror: RunningMirror;
  let work: string;
  let host: string;
  let orgPub: string;
  let upstream: CosignKeyPair;
  let other: CosignKeyPair;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    tools = trixieVerifiers();
    work = await mkdtemp(join(tmpdir(), 'countersign-oci-upsig-e2e-'));
    registry = await startFixtureRegistry();
    const signer = new CosignSigner(work);
    upstream = await signer.generateKeyPair('upstream');
    other = await signer.generateKeyPair('other');
    const layout = new OciLayout(join(work, 'layout'));
    const app = await layout.add({ tag: 'v1', platforms: [{ os: 'linux', architecture: 'amd64', files: { 'hello.txt': 'signed upstream\n' } }] });
    const multi = await layout.add({
      tag: 'multi',
      platforms: [
        { os: 'linux', architecture: 'amd64', files: { 'arch.txt': 'amd64\n' } },
        { os: 'linux', architecture: 'arm64', files: { 'arch.txt': 'arm64\n' } },
      ],
    });
    await layout.add({ tag: 'unsigned', platforms: [{ os: 'linux', architecture: 'amd64', files: { 'hello.txt': 'not signed\n' } }] });
    await registry.push(layout.dir, 'v1', 'demo/app');
    await registry.push(layout.dir, 'multi', 'demo/multi', { all: true });
    await registry.push(layout.dir, 'unsigned', 'demo/app');
    await signer.sign(`${registry.backendHost}/demo/app@${app}`, upstream);
    await signer.sign(`${registry.backendHost}/demo/multi@${multi}`, upstream, { recursive: true });

    mirror = await startMirror({
      repositories: [{ name: 'hub', format: 'oci', upstream: registry.url, verify: 'require', trust: { cosignKeys: [upstream.pub] } }],
    });
    host = new URL(mirror.url).host;
    orgPub = join(work, 'org-cosign.pub');
    await writeFile(orgPub, Buffer.from(await (await mirror.get('/-/keys/cosign.pub')).arrayBuffer()));
    env = { PATH: process.env.PATH, HOME: join(work, 'home'), TMPDIR: work, DOCKER_CONFIG: join(work, 'home', '.docker') };
  });
  after(async () => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
    if (work) await rm(work, { recursive: true, force: true });
  });

  const cosignVerify = (key: string, ref: string): Promise<RunResult> =>
    run(tools.cosign, ['verify', '--key', key, '--insecure-ignore-tlog=true', '--allow-insecure-registry', ref], env);

  test('cosign verify --key <upstream key> and --key <org key> both accept the image by tag through the mirror', async () => {
    const byUpstream = await cosignVerify(upstream.pub, `${host}/hub/demo/app:v1`);
    assert.equal(byUpstream.code, 0, `cosign verify (upstream key) failed:\n${byUpstream.stderr}`);
    const claims = JSON.parse(byUpstream.stdout) as Claims[];
    assert.deepEqual(claims.map((c) => c.critical.identity['docker-reference']), [`${registry.backendHost}/demo/app`], 'only the upstream signature verifies with its key');
    const byOrg = await cosignVerify(orgPub, `${host}/hub/demo/app:v1`);
    assert.equal(byOrg.code, 0, `cosign verify (org key) failed:\n${byOrg.stderr}`);
    assert.equal((JSON.parse(byOrg.stdout) as Claims[]).length, 2, 'the two org identities');
  });

  test('a multi-platform image signed --recursive: the index and a child verify with either key', async () => {
    const idx = (await (await mirror.get('/v2/hub/demo/multi/manifests/multi', { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })).json()) as { manifests: { digest: string }[] };
    for (const ref of [`${host}/hub/demo/multi:multi`, `${host}/hub/demo/multi@${idx.manifests[1]!.digest}`]) {
      for (const key of [upstream.pub, orgPub]) {
        const r = await cosignVerify(key, ref);
        assert.equal(r.code, 0, `cosign verify ${ref} with ${key} failed:\n${r.stderr}`);
      }
    }
  });

  test('cosign verify with a key neither signed with fails', async () => {
    const r = await cosignVerify(other.pub, `${host}/hub/demo/app:v1`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no matching signatures|invalid signature|verification failed/i);
  });

  test('an image the upstream did not sign is not served, so it cannot be verified', async () => {
    const r = await cosignVerify(orgPub, `${host}/hub/demo/app:unsigned`);
    assert.notEqual(r.code, 0);
    // cosign resolves the tag with HEAD, so it sees the status (502) rather than the error body.
    assert.match(r.stderr, /502|MANIFEST_INVALID|no cosign signature/);
  });

  async function skopeoCopy(key: string, signedIdentity: object): Promise<RunResult> {
    const dir = await mkdtemp(join(work, 'skopeo-'));
    const policy = join(dir, 'policy.json');
    await writeFile(policy, JSON.stringify({
      default: [{ type: 'reject' }],
      transports: { docker: { [`${host}/hub`]: [{ type: 'sigstoreSigned', keyPath: key, signedIdentity }] } },
    }));
    await mkdir(join(dir, 'registries.d'));
    await writeFile(join(dir, 'registries.d', 'mirror.yaml'), `docker:\n  ${host}:\n    use-sigstore-attachments: true\n`);
    return run(tools.skopeo, ['--policy', policy, '--registries.d', join(dir, 'registries.d'), 'copy', '--src-tls-verify=false',
      `docker://${host}/hub/demo/app:v1`, `dir:${join(dir, 'out')}`], env);
  }

  test('skopeo accepts the image under a policy for the upstream key (its identity) and one for the org key', async () => {
    const byUpstream = await skopeoCopy(upstream.pub, { type: 'exactRepository', dockerRepository: `${registry.backendHost}/demo/app` });
    assert.equal(byUpstream.code, 0, `skopeo copy (upstream key) failed:\n${byUpstream.stderr}`);
    const byOrg = await skopeoCopy(orgPub, { type: 'matchRepository' });
    assert.equal(byOrg.code, 0, `skopeo copy (org key) failed:\n${byOrg.stderr}`);
  });
});
