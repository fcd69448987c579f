/**
 * `/<repo>/-/setup` of oci repositories: the client setup the mirror prints (containerd
 * hosts.toml, docker, cosign verify, containers policy.json / registries.d / registries.conf),
 * made from publicUrl and each repository's signed identities. The e2e test
 * (test/e2e/oci-client-setup.test.ts) runs what it prints with the real cosign and skopeo.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KEY_FILE } from '../../src/formats/oci/client-setup.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { commandLine, heredoc, heredocFiles } from '../helpers/setup-text.js';

// Never contacted: the setup is made from the configuration alone.
const UPSTREAM = 'https://upstream.example';

describe('oci client setup at /<repo>/-/setup', () => {
  let mirror: RunningMirror;
  let host: string;

  let work: string;
  let upstreamKey: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'countersign-oci-setup-'));
    upstreamKey = join(work, 'upstream-cosign.pub');
    await writeFile(upstreamKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
    mirror = await startMirror({
      repositories: [
        // require needs the upstream's cosign keys (issue 9); `open` has none, so it is warn.
        { name: 'hub', format: 'oci', upstream: UPSTREAM, trust: { cosignKeys: [upstreamKey] } },
        { name: 'pinned', format: 'oci', upstream: UPSTREAM, trust: { signedIdentities: ['mirror'], cosignKeys: [upstreamKey] } },
        { name: 'team', format: 'oci', upstream: 'https://puller:s3cret-token@upstream.example', trust: { signedIdentities: ['upstream', 'registry.example.org/team'], cosignKeys: [upstreamKey] } },
        { name: 'open', format: 'oci', upstream: UPSTREAM, verify: 'warn' },
      ],
    });
    host = new URL(mirror.url).host;
  });
  after(async () => {
    await mirror?.close();
    if (mirror) await removeDir(mirror.dataDir);
    if (work) await removeDir(work);
  });

  const setupOf = async (repo: string): Promise<string> => {
    const res = await mirror.get(`/${repo}/-/setup`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    return res.text();
  };

  test('containerd: hosts.toml for the upstream registry with the repository as a host at /v2/<repo>', async () => {
    const setup = await setupOf('hub');
    assert.equal(heredoc(setup, '/etc/containerd/certs.d/upstream.example/hosts.toml'), [
      'server = "https://upstream.example"',
      '',
      `[host."${mirror.url}/v2/hub"]`,
      '  capabilities = ["pull", "resolve"]',
      '  override_path = true',
      '',
    ].join('\n'));
    assert.match(setup, /config_path = "\/etc\/containerd\/certs\.d"/);
  });

  test('docker: no registry-mirrors (it takes no path); pulls by the mirror name, insecure-registries for http', async () => {
    const setup = await setupOf('hub');
    assert.match(setup, /"registry-mirrors" in daemon\.json takes a host without a path/);
    assert.ok(setup.includes(`docker pull ${host}/hub/<image>:<tag>`));
    assert.ok(setup.includes(`{ "insecure-registries": ["${host}"] }`));
  });

  test('cosign: the verify line with the key URL, tlog off and insecure registry for http', async () => {
    const setup = await setupOf('hub');
    assert.equal(commandLine(setup, 'cosign '),
      `cosign verify --key ${mirror.url}/-/keys/cosign.pub --insecure-ignore-tlog=true --allow-insecure-registry ${host}/hub/<image>:<tag>`);
    assert.equal(commandLine(setup, 'curl '), `curl -fsSL ${mirror.url}/-/keys/cosign.pub -o ${KEY_FILE}`);
  });

  test('containers: policy.json requires the org key with matchRepository for <host>/<repo>; registries.d reads attachments', async () => {
    const setup = await setupOf('hub');
    assert.deepEqual(JSON.parse(heredoc(setup, '/etc/containers/policy.json')), {
      default: [{ type: 'reject' }],
      transports: { docker: { [`${host}/hub`]: [{ type: 'sigstoreSigned', keyPath: KEY_FILE, signedIdentity: { type: 'matchRepository' } }] } },
    });
    assert.equal(heredoc(setup, '/etc/containers/registries.d/countersign.yaml'), `docker:\n  ${host}:\n    use-sigstore-attachments: true\n`);
  });

  test('upstream identity: a registries.conf mirror entry for the upstream registry and its policy entry', async () => {
    const setup = await setupOf('hub');
    assert.equal(heredoc(setup, '/etc/containers/registries.conf.d/countersign-hub-upstream.example.conf'), [
      '[[registry]]', 'prefix = "upstream.example"', 'location = "upstream.example"', '', '[[registry.mirror]]', `location = "${host}/hub"`, 'insecure = true', '',
    ].join('\n'));
    const entry = commandLine(setup.replace(/^# {6}/gm, ''), '"upstream.example": ');
    assert.deepEqual(JSON.parse(`{${entry}}`), { 'upstream.example': [{ type: 'sigstoreSigned', keyPath: KEY_FILE, signedIdentity: { type: 'matchRepository' } }] });
  });

  test('only the mirror identity signed: no registries.conf step', async () => {
    const setup = await setupOf('pinned');
    assert.ok(heredocFiles(setup).includes('/etc/containers/policy.json'));
    assert.deepEqual(heredocFiles(setup).filter((f) => f.startsWith('/etc/containers/registries.conf.d/')), []);
  });

  test('mirror identity not signed: no policy for the mirror names, a registries.conf step per signed prefix; no credentials printed', async () => {
    const setup = await setupOf('team');
    const files = heredocFiles(setup);
    assert.ok(!files.includes('/etc/containers/policy.json'));
    assert.ok(files.includes('/etc/containers/registries.d/countersign.yaml'));
    assert.deepEqual(files.filter((f) => f.startsWith('/etc/containers/registries.conf.d/')), [
      '/etc/containers/registries.conf.d/countersign-team-upstream.example.conf',
      '/etc/containers/registries.conf.d/countersign-team-registry.example.org_team.conf',
    ]);
    assert.match(heredoc(setup, '/etc/containers/registries.conf.d/countersign-team-registry.example.org_team.conf'), /^prefix = "registry\.example\.org\/team"$/m);
    assert.doesNotMatch(setup, /s3cret|puller/);
  });

  test('warn: the setup says what did not verify is signed by the unverified key, and where that key is', async () => {
    const setup = await setupOf('open');
    assert.match(setup, /# This repository has verify: warn: what did not verify \(every manifest, unless trust\.cosignKeys pins the upstream's cosign keys\) is served signed by the\n# organisation's UNVERIFIED key instead/);
    assert.ok(setup.includes(`#   ${mirror.url}/-/keys/cosign-unverified.pub\n`));
    assert.ok(setup.includes(`#   cosign verify --key ${mirror.url}/-/keys/cosign-unverified.pub --insecure-ignore-tlog=true --allow-insecure-registry ${host}/open/<image>:<tag>`));
    // The runnable steps still trust the primary key only; a require repository says nothing of the other.
    assert.equal(commandLine(setup, 'curl '), `curl -fsSL ${mirror.url}/-/keys/cosign.pub -o ${KEY_FILE}`);
    assert.ok(!(await setupOf('hub')).includes('unverified'));
  });
});
