/**
 * The client setup printed at `/<repo>/-/setup` for an oci repository, used as printed: the
 * `cosign verify` line run by trixie's cosign, and the containers policy.json, registries.d and
 * registries.conf files written from its heredocs (with the key path pointing at the downloaded
 * /-/keys/cosign.pub) used by trixie's skopeo to copy images through the mirror.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KEY_FILE } from '../../src/formats/oci/client-setup.js';
import { pushDemoImages, startOciWorld, writeUnrelatedKey, type DemoImages, type OciWorld } from '../helpers/oci-e2e.js';
import { commandLine, heredoc, heredocFiles } from '../helpers/setup-text.js';

describe('the printed oci client setup works with cosign and skopeo', () => {
  let world: OciWorld<DemoImages>;
  let work: string;
  let host: string;
  let setup: string;
  let keyFile: string;

  before(async () => {
    world = await startOciWorld({ workPrefix: 'countersign-oci-setup-', publish: ({ registry, work: dir }) => pushDemoImages(registry, dir) });
    ({ work, host, orgPub: keyFile } = world);
    const res = await world.mirror.get('/hub/-/setup');
    assert.equal(res.status, 200);
    setup = await res.text();
  });
  after(async () => {
    await world?.close();
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
      const r = await world.cosign(cosignArgs(image));
      assert.equal(r.code, 0, `${world.tools.cosign} ${cosignArgs(image).join(' ')} failed:\n${r.stderr}`);
      const claims = JSON.parse(r.stdout) as { critical: { identity: { 'docker-reference': string } } }[];
      assert.ok(claims.some((c) => c.critical.identity['docker-reference'] === `${host}/hub/${image.split(':')[0]}`));
    }
  });

  test('the same line with the key file of step 1 exits 0', async () => {
    const args = cosignArgs('demo/app:v1');
    args[args.indexOf('--key') + 1] = keyFile;
    const r = await world.cosign(args);
    assert.equal(r.code, 0, r.stderr);
  });

  test('skopeo copy with the printed policy.json and registries.d copies through the mirror', async () => {
    const { dir, policy, registriesD } = await clientFiles();
    for (const [image, all] of [['demo/app:v1', false], ['demo/multi:multi', true]] as const) {
      const out = join(dir, `out-${image.replace(/[/:]/g, '-')}`);
      const args = ['--policy', policy, '--registries.d', registriesD, 'copy', '--src-tls-verify=false', ...(all ? ['--all'] : []), `docker://${host}/hub/${image}`, `dir:${out}`];
      const r = await world.skopeo(args);
      assert.equal(r.code, 0, `skopeo ${args.join(' ')} failed:\n${r.stderr}`);
      assert.ok((await readdir(out)).includes('manifest.json'));
    }
  });

  test('the printed policy refuses the images under another key, and other registries', async () => {
    const otherKey = await writeUnrelatedKey(work);
    const { dir, policy, registriesD } = await clientFiles(otherKey);
    const wrongKey = await world.skopeo(['--policy', policy, '--registries.d', registriesD, 'copy', '--src-tls-verify=false',
      `docker://${host}/hub/demo/app:v1`, `dir:${join(dir, 'out')}`]);
    assert.notEqual(wrongKey.code, 0);
    assert.match(wrongKey.stderr, /signature verification failed|not accepted|rejected/i);
    const direct = await world.skopeo(['--policy', (await clientFiles()).policy, 'copy', '--src-tls-verify=false',
      `docker://${world.registry.host}/demo/app:v1`, `dir:${join(dir, 'direct')}`]);
    assert.notEqual(direct.code, 0, 'the printed policy rejects images from anywhere else');
  });

  test('registries.conf mirror setup: a client naming the upstream image pulls it through the mirror, checked against the upstream identity', async () => {
    // Step 5's files (its registries.d file names the mirror's host, where the attachments are read).
    const { dir, registriesD } = await clientFiles();
    const confFile = heredocFiles(setup).find((f) => f.startsWith('/etc/containers/registries.conf.d/'));
    assert.ok(confFile, 'the setup prints a registries.conf mirror entry for the upstream identity');
    const conf = heredoc(setup, confFile);
    assert.match(conf, new RegExp(`prefix = "${world.registry.host}"`));
    assert.match(conf, new RegExp(`location = "${host}/hub"`));
    const registriesConf = join(dir, 'registries.conf');
    await writeFile(registriesConf, conf);
    // Step 5's policy with the entry the upstream-name step prints beside it.
    const entry = commandLine(setup.replace(/^# {6}/gm, ''), `"${world.registry.host}": `);
    const policyDoc = JSON.parse(heredoc(setup, '/etc/containers/policy.json')) as { transports: { docker: Record<string, unknown> } };
    Object.assign(policyDoc.transports.docker, JSON.parse(`{${entry}}`) as Record<string, unknown>);
    const policy = join(dir, 'policy-upstream.json');
    await writeFile(policy, JSON.stringify(policyDoc).replaceAll(KEY_FILE, keyFile));
    const out = join(dir, 'out');
    const args = ['--policy', policy, '--registries.d', registriesD, '--registries-conf', registriesConf, 'copy',
      `docker://${world.registry.host}/demo/app:v1`, `dir:${out}`];
    const r = await world.skopeo(args);
    assert.equal(r.code, 0, `skopeo ${args.join(' ')} failed:\n${r.stderr}`);
    assert.ok((await readdir(out)).includes('manifest.json'));
    // The upstream serves no signatures: without the mirror the same policy refuses the image.
    const direct = await world.skopeo(['--policy', policy, '--registries.d', registriesD, 'copy', '--src-tls-verify=false',
      `docker://${world.registry.host}/demo/app:v1`, `dir:${join(dir, 'direct')}`]);
    assert.notEqual(direct.code, 0, 'the upstream itself has no signatures the policy accepts');
  });
});
