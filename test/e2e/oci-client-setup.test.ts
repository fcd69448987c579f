/**
 * The client setup printed at `/<repo>/-/setup` for an oci repository, used as printed: the
 * `cosign verify` line run by trixie's cosign, and the containers policy.json, registries.d and
 * registries.conf files written from its heredocs (with the key path pointing at the downloaded
 * /-/keys/cosign.pub) used by trixie's skopeo to copy images through the mirror.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KEY_FILE } from '../../src/formats/oci/client-setup.js';
import { startFixtureRegistry, type FixtureRegistry } from '../helpers/oci-fixture-registry.js';
import { OciLayout } from '../helpers/oci-image.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { commandLine, heredoc, heredocFiles } from '../helpers/setup-text.js';
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

describe('the printed oci client setup works with cosign and skopeo', () => {
  let tools: Verifiers;
  let registry: FixtureRegistry;
  let mirror: RunningMirror;
  let work: string;
  let host: string;
  let setup: string;
  let keyFile: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    tools = trixieVerifiers();
    work = await mkdtemp(join(tmpdir(), 'countersign-oci-setup-'));
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
    const res = await mirror.get('/hub/-/setup');
    assert.equal(res.status, 200);
    setup = await res.text();
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

  /** The printed `cosign verify` line for an image, as argv after the program name. */
  const cosignArgs = (image: string): string[] => {
    const line = commandLine(setup, 'cosign verify ');
    assert.match(line, /<image>:<tag>$/);
    return line.replace('<image>:<tag>', image).split(' ').slice(1);
  };

  /** Writes the printed files into a fresh directory, the key path pointing at the downloaded key (or `key`). */
  async function clientFiles(key = keyFile): Promise<{ dir: string; policy: string; registriesD: string }> {
    const dir = await mkdtemp(join(work, 'client-'));
    const policy = join(dir, 'policy.json');
    await writeFile(policy, heredoc(setup, '/etc/containers/policy.json').replaceAll(KEY_FILE, key));
    const registriesD = join(dir, 'registries.d');
    await mkdir(registriesD);
    await writeFile(join(registriesD, 'countersign.yaml'), heredoc(setup, '/etc/containers/registries.d/countersign.yaml'));
    return { dir, policy, registriesD };
  }

  test('the printed cosign verify line (key fetched from the mirror URL) exits 0, by tag and for an index', async () => {
    for (const image of ['demo/app:v1', 'demo/multi:multi']) {
      const r = await run(tools.cosign, cosignArgs(image), env);
      assert.equal(r.code, 0, `${tools.cosign} ${cosignArgs(image).join(' ')} failed:\n${r.stderr}`);
      const claims = JSON.parse(r.stdout) as { critical: { identity: { 'docker-reference': string } } }[];
      assert.ok(claims.some((c) => c.critical.identity['docker-reference'] === `${host}/hub/${image.split(':')[0]}`));
    }
  });

  test('the same line with the key file of step 1 exits 0', async () => {
    const args = cosignArgs('demo/app:v1');
    args[args.indexOf('--key') + 1] = keyFile;
    const r = await run(tools.cosign, args, env);
    assert.equal(r.code, 0, r.stderr);
  });

  test('skopeo copy with the printed policy.json and registries.d copies through the mirror', async () => {
    const { dir, policy, registriesD } = await clientFiles();
    for (const [image, all] of [['demo/app:v1', false], ['demo/multi:multi', true]] as const) {
      const out = join(dir, `out-${image.replace(/[/:]/g, '-')}`);
      const args = ['--policy', policy, '--registries.d', registriesD, 'copy', '--src-tls-verify=false', ...(all ? ['--all'] : []), `docker://${host}/hub/${image}`, `dir:${out}`];
      const r = await run(tools.skopeo, args, env);
      assert.equal(r.code, 0, `skopeo ${args.join(' ')} failed:\n${r.stderr}`);
      assert.ok((await readdir(out)).includes('manifest.json'));
    }
  });

  test('the printed policy refuses the images under another key, and other registries', async () => {
    const otherKey = join(work, 'other.pub');
    await writeFile(otherKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
    const { dir, policy, registriesD } = await clientFiles(otherKey);
    const wrongKey = await run(tools.skopeo, ['--policy', policy, '--registries.d', registriesD, 'copy', '--src-tls-verify=false',
      `docker://${host}/hub/demo/app:v1`, `dir:${join(dir, 'out')}`], env);
    assert.notEqual(wrongKey.code, 0);
    assert.match(wrongKey.stderr, /signature verification failed|not accepted|rejected/i);
    const direct = await run(tools.skopeo, ['--policy', (await clientFiles()).policy, 'copy', '--src-tls-verify=false',
      `docker://${registry.host}/demo/app:v1`, `dir:${join(dir, 'direct')}`], env);
    assert.notEqual(direct.code, 0, 'the printed policy rejects images from anywhere else');
  });

  test('registries.conf mirror setup: a client naming the upstream image pulls it through the mirror, checked against the upstream identity', async () => {
    // Step 5's files (its registries.d file names the mirror's host, where the attachments are read).
    const { dir, registriesD } = await clientFiles();
    const confFile = heredocFiles(setup).find((f) => f.startsWith('/etc/containers/registries.conf.d/'));
    assert.ok(confFile, 'the setup prints a registries.conf mirror entry for the upstream identity');
    const conf = heredoc(setup, confFile);
    assert.match(conf, new RegExp(`prefix = "${registry.host}"`));
    assert.match(conf, new RegExp(`location = "${host}/hub"`));
    const registriesConf = join(dir, 'registries.conf');
    await writeFile(registriesConf, conf);
    // Step 5's policy with the entry the upstream-name step prints beside it.
    const entry = commandLine(setup.replace(/^# {6}/gm, ''), `"${registry.host}": `);
    const policyDoc = JSON.parse(heredoc(setup, '/etc/containers/policy.json')) as { transports: { docker: Record<string, unknown> } };
    Object.assign(policyDoc.transports.docker, JSON.parse(`{${entry}}`) as Record<string, unknown>);
    const policy = join(dir, 'policy-upstream.json');
    await writeFile(policy, JSON.stringify(policyDoc).replaceAll(KEY_FILE, keyFile));
    const out = join(dir, 'out');
    const args = ['--policy', policy, '--registries.d', registriesD, '--registries-conf', registriesConf, 'copy',
      `docker://${registry.host}/demo/app:v1`, `dir:${out}`];
    const r = await run(tools.skopeo, args, env);
    assert.equal(r.code, 0, `skopeo ${args.join(' ')} failed:\n${r.stderr}`);
    assert.ok((await readdir(out)).includes('manifest.json'));
    // The upstream serves no signatures: without the mirror the same policy refuses the image.
    const direct = await run(tools.skopeo, ['--policy', policy, '--registries.d', registriesD, 'copy', '--src-tls-verify=false',
      `docker://${registry.host}/demo/app:v1`, `dir:${join(dir, 'direct')}`], env);
    assert.notEqual(direct.code, 0, 'the upstream itself has no signatures the policy accepts');
  });
});
