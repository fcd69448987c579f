/**
 * Real RPM clients against the mirror: rpmkeys with the org key in a private rpmdb, and dnf
 * (Debian's dnf 4) installing into a private installroot with gpgcheck and repo_gpgcheck, the
 * .repo file taken from the mirror's own /-/setup snippet. Nothing touches the machine's rpmdb
 * or dnf configuration.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { buildRpmRepo, makeGpgKey, publishRpmRepo, type BuiltRpmRepo, type GpgKey } from '../helpers/rpm-fixture.js';

const run = promisify(execFile);

/** Exit code and output of a command that may fail. */
async function attempt(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { timeout: 60_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('rpm clients through the mirror', () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let repo: BuiltRpmRepo;
  let mirror: RunningMirror;
  let dataDir: string;
  let work: string;

  before(async () => {
    [upstream, key] = await Promise.all([startFixtureUpstream(), makeGpgKey()]);
    repo = await buildRpmRepo({ packages: [{ name: 'hello-mirror', content: 'installed through countersign' }, { name: 'other-pkg' }], packageKey: key });
    publishRpmRepo(upstream, '/el', repo);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
    mirror = await startMirror({ dataDir, repositories: [{ name: 'el', format: 'rpm', upstream: `${upstream.url}/el`, trust: { keyring: 'upstream.asc' } }] });
    work = await mkdtemp(join(tmpdir(), 'countersign-rpm-e2e-'));
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await key?.close();
    if (dataDir) await removeDir(dataDir);
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('rpmkeys --checksig with the org key passes on the served package and fails on the upstream one', async () => {
    const db = join(work, 'rpmdb');
    await mkdir(db);
    await writeFile(join(work, 'org.asc'), await (await mirror.get('/-/keys/openpgp.asc')).text());
    const imported = await attempt('rpmkeys', ['--dbpath', db, '--import', join(work, 'org.asc')]);
    assert.equal(imported.code, 0, imported.out);
    const path = repo.packagePaths[0]!;
    await writeFile(join(work, 'served.rpm'), Buffer.from(await (await mirror.get(`/el/${path}`)).arrayBuffer()));
    await writeFile(join(work, 'upstream.rpm'), repo.files.get(path)!);
    const check = (file: string) => attempt('rpmkeys', ['--dbpath', db, '--define', '_pkgverify_level signature', '--checksig', '-v', join(work, file)]);
    const served = await check('served.rpm');
    assert.equal(served.code, 0, served.out);
    assert.match(served.out, /Header V4 RSA\/SHA512 Signature, key ID [0-9a-f]{8}: OK/);
    assert.doesNotMatch(served.out, /NOKEY|BAD/);
    const original = await check('upstream.rpm');
    assert.notEqual(original.code, 0, original.out);
    assert.match(original.out, /NOKEY/);
  });

  test('dnf with gpgcheck and repo_gpgcheck installs a package through the mirror', async (t) => {
    const d = join(work, 'dnf');
    await mkdir(join(d, 'yum.repos.d'), { recursive: true });
    await mkdir(join(d, 'root'), { recursive: true });
    await writeFile(join(d, 'dnf.conf'), [
      '[main]', `reposdir=${d}/yum.repos.d`, `cachedir=${d}/cache`, `persistdir=${d}/persist`, `logdir=${d}/log`, 'gpgcheck=1', 'repo_gpgcheck=1', '',
    ].join('\n'));
    const setup = await (await mirror.get('/el/-/setup')).text();
    assert.match(setup, /repo_gpgcheck=1/);
    await writeFile(join(d, 'yum.repos.d', 'el.repo'), setup);
    const dnf = (...args: string[]) => attempt('dnf', ['-c', join(d, 'dnf.conf'), `--installroot=${join(d, 'root')}`, '--releasever=1', '-y', '--disablerepo=*', '--enablerepo=el', ...args]);
    const cold = Date.now();
    const install = await dnf('install', 'hello-mirror');
    const coldMs = Date.now() - cold;
    assert.equal(install.code, 0, install.out);
    assert.match(install.out, /Importing GPG key/);
    assert.match(install.out, /Complete!/);
    assert.equal(await readFile(join(d, 'root', 'usr', 'share', 'hello-mirror', 'hello-mirror.txt'), 'utf8'), 'installed through countersign\n');
    const warm = Date.now();
    const second = await dnf('install', 'other-pkg');
    const warmMs = Date.now() - warm;
    assert.equal(second.code, 0, second.out);
    t.diagnostic(`dnf install (cold mirror, first makecache): ${coldMs} ms; second install (warm): ${warmMs} ms`);
  });

  test('dnf refuses the repository when gpgkey names another key', async () => {
    const d = join(work, 'dnf-wrong');
    await mkdir(join(d, 'yum.repos.d'), { recursive: true });
    await mkdir(join(d, 'root'), { recursive: true });
    await writeFile(join(d, 'dnf.conf'), ['[main]', `reposdir=${d}/yum.repos.d`, `cachedir=${d}/cache`, `persistdir=${d}/persist`, `logdir=${d}/log`, ''].join('\n'));
    await writeFile(join(d, 'upstream.asc'), key.armoredPublic);
    await writeFile(join(d, 'yum.repos.d', 'el.repo'), [
      '[el]', 'name=el', `baseurl=${mirror.url}/el/`, 'gpgcheck=1', 'repo_gpgcheck=1', `gpgkey=file://${d}/upstream.asc`, '',
    ].join('\n'));
    const r = await attempt('dnf', ['-c', join(d, 'dnf.conf'), `--installroot=${join(d, 'root')}`, '--releasever=1', '-y', '--disablerepo=*', '--enablerepo=el', 'install', 'hello-mirror']);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /repomd.xml GPG signature verification error|Bad GPG signature/, r.out);
  });
});
