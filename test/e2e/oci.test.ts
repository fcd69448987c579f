/**
 * The real verifiers against the mirror's cosign signatures: Debian trixie's cosign 2.5
 * (`cosign verify --key`) and skopeo 1.18 (containers/image `sigstoreSigned` policy with
 * sigstore attachments), pulling single- and multi-platform images built by the test,
 * pushed by skopeo into a real distribution registry, through the mirror.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
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

describe('cosign and skopeo verify images pulled through the mirror', () => {
  let tools: Verifiers;
  let registry: FixtureRegistry;
  let mirror: RunningMirror;
  let work: string;
  let host: string;
  let orgPub: string;
  let otherPub: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    tools = trixieVerifiers();
    work = await mkdtemp(join(tmpdir(), 'countersign-oci-e2e-'));
    registry = await startFixtureRegistry();
    const layout = new OciLayout(join(work, 'layout'));
    await layout.add({ tag: 'v1', platforms: [{ os: 'linux', architecture: 'amd64', files: { 'hello.txt': 'hello\n' } }] });
    await layout.add({
      tag: 'multi',
      platforms: [
        { os: 'linux', architecture: 'amd64', files: { 'arch.txt': 'amd64\n' } },
        { os: 'linux', architecture: 'arm64', files: { 'arch.txt': 'arm64\n' } },
      ],
    });
    await registry.push(layout.dir, 'v1', 'demo/app');
    await registry.push(layout.dir, 'multi', 'demo/multi', { all: true });
    mirror = await startMirror({ repositories: [{ name: 'hub', format: 'oci', upstream: registry.url }] });
    host = new URL(mirror.url).host;
    orgPub = join(work, 'cosign.pub');
    await writeFile(orgPub, Buffer.from(await (await mirror.get('/-/keys/cosign.pub')).arrayBuffer()));
    otherPub = join(work, 'other.pub');
    await writeFile(otherPub, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
    await mkdir(join(work, 'home'), { recursive: true });
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

  test('cosign verify --key <mirror cosign.pub> accepts a single-platform image by tag', async () => {
    const r = await cosignVerify(orgPub, `${host}/hub/demo/app:v1`);
    assert.equal(r.code, 0, `cosign verify failed:\n${r.stderr}`);
    const claims = JSON.parse(r.stdout) as { critical: { image: { 'docker-manifest-digest': string } } }[];
    assert.ok(claims.length >= 1);
  });

  test('cosign verify accepts a multi-platform index by tag and a child by digest', async () => {
    const r = await cosignVerify(orgPub, `${host}/hub/demo/multi:multi`);
    assert.equal(r.code, 0, `cosign verify (index) failed:\n${r.stderr}`);
    const idx = (await (await mirror.get('/v2/hub/demo/multi/manifests/multi', { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })).json()) as { manifests: { digest: string }[] };
    const child = await cosignVerify(orgPub, `${host}/hub/demo/multi@${idx.manifests[1]!.digest}`);
    assert.equal(child.code, 0, `cosign verify (child) failed:\n${child.stderr}`);
  });

  test('cosign verify fails with another key', async () => {
    const r = await cosignVerify(otherPub, `${host}/hub/demo/app:v1`);
    assert.notEqual(r.code, 0, 'a signature by the org key must not verify under another key');
    assert.match(r.stderr, /no matching signatures|invalid signature|verification failed/i);
  });

  async function skopeoCopy(key: string, ref: string, signedIdentity: object, all = false): Promise<RunResult & { out: string }> {
    const dir = await mkdtemp(join(work, 'skopeo-'));
    const policy = join(dir, 'policy.json');
    await writeFile(policy, JSON.stringify({
      default: [{ type: 'reject' }],
      transports: { docker: { [`${host}/hub`]: [{ type: 'sigstoreSigned', keyPath: key, signedIdentity }] } },
    }));
    await mkdir(join(dir, 'registries.d'));
    await writeFile(join(dir, 'registries.d', 'mirror.yaml'), `docker:\n  ${host}:\n    use-sigstore-attachments: true\n`);
    const out = join(dir, 'out');
    const args = ['--policy', policy, '--registries.d', join(dir, 'registries.d'), 'copy', '--src-tls-verify=false'];
    if (all) args.push('--all');
    args.push(`docker://${ref}`, `dir:${out}`);
    return { ...(await run(tools.skopeo, args, env)), out };
  }

  test('skopeo copy with a sigstoreSigned policy (matchRepository on the mirror name) copies a single-platform image', async () => {
    const r = await skopeoCopy(orgPub, `${host}/hub/demo/app:v1`, { type: 'matchRepository' });
    assert.equal(r.code, 0, `skopeo copy failed:\n${r.stderr}`);
    assert.ok((await readdir(r.out)).includes('manifest.json'));
  });

  test('skopeo accepts the upstream identity with exactRepository', async () => {
    const r = await skopeoCopy(orgPub, `${host}/hub/demo/app:v1`, { type: 'exactRepository', dockerRepository: `${registry.host}/demo/app` });
    assert.equal(r.code, 0, `skopeo copy failed:\n${r.stderr}`);
  });

  test('skopeo copy --all of a multi-platform image: the index and every instance are signed', async () => {
    const r = await skopeoCopy(orgPub, `${host}/hub/demo/multi:multi`, { type: 'matchRepository' }, true);
    assert.equal(r.code, 0, `skopeo copy --all failed:\n${r.stderr}`);
    const one = await skopeoCopy(orgPub, `${host}/hub/demo/multi:multi`, { type: 'matchRepository' });
    assert.equal(one.code, 0, `skopeo copy (one instance) failed:\n${one.stderr}`);
  });

  test('skopeo copy fails when the signature is tampered with on the way', async () => {
    // A front that flips one byte of each signature annotation in `.sig` manifests from the mirror.
    const front = createServer((req, res) => {
      void (async () => {
        const upstream = await fetch(`${mirror.url}${req.url}`, { method: req.method, headers: { accept: req.headers.accept ?? '*/*' } });
        let body = Buffer.from(await upstream.arrayBuffer());
        if (/\/manifests\/sha256-[0-9a-f]{64}\.sig$/.test(req.url ?? '') && upstream.status === 200) {
          const m = JSON.parse(body.toString()) as { layers: { annotations: Record<string, string> }[] };
          for (const l of m.layers) {
            const sig = Buffer.from(l.annotations['dev.cosignproject.cosign/signature']!, 'base64');
            sig.writeUInt8(sig.readUInt8(sig.length - 3) ^ 0x01, sig.length - 3);
            l.annotations['dev.cosignproject.cosign/signature'] = sig.toString('base64');
          }
          body = Buffer.from(JSON.stringify(m));
        }
        const headers: Record<string, string> = {};
        for (const h of ['content-type', 'docker-content-digest', 'docker-distribution-api-version']) {
          const v = upstream.headers.get(h);
          if (v) headers[h] = v;
        }
        res.writeHead(upstream.status, { ...headers, 'content-length': body.byteLength });
        res.end(req.method === 'HEAD' ? undefined : body);
      })().catch(() => res.destroy());
    });
    await new Promise<void>((ok) => front.listen(0, '127.0.0.1', () => ok()));
    const frontHost = `127.0.0.1:${(front.address() as AddressInfo).port}`;
    try {
      const dir = await mkdtemp(join(work, 'skopeo-tampered-'));
      await writeFile(join(dir, 'policy.json'), JSON.stringify({
        default: [{ type: 'reject' }],
        transports: { docker: { [`${frontHost}/hub`]: [{ type: 'sigstoreSigned', keyPath: orgPub, signedIdentity: { type: 'exactRepository', dockerRepository: `${host}/hub/demo/app` } }] } },
      }));
      await mkdir(join(dir, 'registries.d'));
      await writeFile(join(dir, 'registries.d', 'front.yaml'), `docker:\n  ${frontHost}:\n    use-sigstore-attachments: true\n`);
      const r = await run(tools.skopeo, ['--policy', join(dir, 'policy.json'), '--registries.d', join(dir, 'registries.d'), 'copy', '--src-tls-verify=false',
        `docker://${frontHost}/hub/demo/app:v1`, `dir:${join(dir, 'out')}`], env);
      assert.notEqual(r.code, 0, 'a tampered signature must be refused');
      assert.match(r.stderr, /signature verification failed|invalid signature/i);
    } finally {
      front.closeAllConnections();
      await new Promise<void>((ok) => front.close(() => ok()));
    }
  });

  test('skopeo copy fails with a wrong key', async () => {
    const r = await skopeoCopy(otherPub, `${host}/hub/demo/app:v1`, { type: 'matchRepository' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /signature verification failed|not accepted|rejected/i);
  });
});
