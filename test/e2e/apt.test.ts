/**
 * The real apt (apt-get update, download, install) through the mirror, in a private apt
 * configuration, against an archive built with dpkg-deb/apt-ftparchive/gpg: apt accepts the
 * re-signed InRelease with `signed-by=` the key from /-/keys/openpgp.asc, checks every index and
 * package against it, and refuses the mirror when signed-by names another key. A `verify: warn`
 * repository set up as its /-/setup says (both org keys, deb822) serves a suite that did not
 * verify; with the primary key alone apt refuses that suite.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { APT_TOOLS_MISSING, assertAptOk, makeAptEnv, type AptEnv } from '../helpers/apt-client.js';
import { DebianFixture, makeGpgKey, sha256, type GpgKey } from '../helpers/debian-fixture.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

describe('apt through the mirror', { skip: APT_TOOLS_MISSING }, () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let stranger: GpgKey;
  let archive: DebianFixture;
  let mirror: RunningMirror;
  let dataDir: string;
  const envs: AptEnv[] = [];
  const debs: Record<string, string> = {};

  const newEnv = async (signedBy?: string): Promise<AptEnv> => {
    const env = await makeAptEnv();
    envs.push(env);
    const keyFile = signedBy ?? (await env.writeFile('countersign.asc', await (await mirror.get('/-/keys/openpgp.asc')).text()));
    const base = `${mirror.url}/debian`;
    await env.setSources([
      `deb [signed-by=${keyFile}] ${base} stable main`,
      `deb [signed-by=${keyFile}] ${base} stable-updates main`,
      `deb [signed-by=${keyFile}] ${base} xzonly main`,
    ]);
    return env;
  };

  before(async () => {
    [upstream, key, stranger] = await Promise.all([startFixtureUpstream(), makeGpgKey('Fixture Archive'), makeGpgKey('Somebody Else')]);
    archive = await DebianFixture.create(key);
    debs.hello = await archive.addDeb({ name: 'hello', version: '1.0', pool: 'pool/main/h/hello' });
    debs.world = await archive.addDeb({ name: 'world', version: '1.0', pool: 'pool/main/w/world', depends: 'hello (>= 1.1)' });
    debs.helloUpdate = await archive.addDeb({ name: 'hello', version: '1.1', pool: 'pool/updates/main/h/hello' });
    debs.tiny = await archive.addDeb({ name: 'tiny', version: '2.0', pool: 'pool/xz/t/tiny' });
    await archive.writeSuite({ suite: 'stable', pools: ['pool/main'], compressions: ['', 'gz', 'xz'], byHash: true });
    await archive.writeSuite({ suite: 'stable-updates', pools: ['pool/updates'], compressions: ['', 'gz', 'xz'], withheld: [''], signing: 'inrelease' });
    // As Debian publishes: the uncompressed Packages is listed (apt needs it) but only Packages.xz exists.
    await archive.writeSuite({ suite: 'xzonly', pools: ['pool/xz'], compressions: ['', 'xz'], withheld: [''], signing: 'detached' });
    // Signed by a key the operator does not trust: served only by the warn repository.
    await archive.writeSuite({ suite: 'rogue', pools: ['pool/xz'], compressions: ['', 'xz'], withheld: [''], signWith: stranger });
    await archive.publish(upstream);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'archive.gpg'), key.binaryKeyring);
    mirror = await startMirror({
      dataDir,
      repositories: [
        { name: 'debian', format: 'debian', upstream: `${upstream.url}/debian`, trust: { keyring: 'archive.gpg' }, metadataTtl: '5m', retries: 0 },
        { name: 'loose', format: 'debian', verify: 'warn', upstream: `${upstream.url}/debian`, trust: { keyring: 'archive.gpg', suites: ['stable', 'rogue'] }, metadataTtl: '5m', retries: 0 },
      ],
    });
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await Promise.all(envs.map((e) => e.close()));
    await Promise.all([archive?.close(), key?.close(), stranger?.close()]);
    await removeDir(dataDir);
  });

  test('apt-get update accepts the re-signed InRelease of every suite (by-hash, xz-only, detached upstream)', async () => {
    const env = await newEnv();
    const r = await env.aptGet(['update']);
    assertAptOk(r, 'apt-get update');
    for (const suite of ['stable', 'stable-updates', 'xzonly']) assert.match(r.stdout, new RegExp(`Get:\\d+ ${mirror.url}/debian ${suite} InRelease`));
    assert.match(r.stdout, /Packages/);
    // apt followed Acquire-By-Hash: the xz-only suite's upstream has no by-hash, the mirror does.
    assert.ok(mirror.app.store.index.getObject('debian', 'dists/xzonly/InRelease'));
    // What apt verified is the LF InRelease Debian publishes (issue 10): no CR anywhere in it.
    for (const suite of ['stable', 'stable-updates', 'xzonly']) {
      const inRelease = Buffer.from(await (await mirror.get(`/debian/dists/${suite}/InRelease`)).arrayBuffer());
      assert.equal(inRelease.includes(0x0d), false, `${suite}: InRelease has LF line endings`);
    }
  });

  test('apt-get download and install: every package checked by apt against the served indexes', async (t) => {
    const env = envs[0]!;
    const dl = await env.aptGet(['download', 'hello=1.0', 'world', 'tiny'], { cwd: env.downloads });
    assertAptOk(dl, 'apt-get download');
    for (const [name, file] of [['hello_1.0_all.deb', debs.hello], ['world_1.0_all.deb', debs.world], ['tiny_2.0_all.deb', debs.tiny]] as const) {
      assert.equal(sha256(await readFile(join(env.downloads, name))), sha256(await archive.file(file!)), name);
    }
    const install = await env.aptGet(['install', '-y', '--no-install-recommends', 'world', 'tiny']);
    assertAptOk(install, 'apt-get install');
    assert.match(install.stdout, /Setting up world \(1\.0\)/);
    assert.match(install.stdout, /Setting up hello \(1\.1\)/, 'the dependency came from stable-updates');
    assert.ok(existsSync(join(env.installRoot, 'usr/share/doc/world/README')));
    assert.ok(existsSync(join(env.installRoot, 'usr/share/doc/tiny/README')));
    t.diagnostic(`cold mirror: apt-get download ${dl.ms} ms, apt-get install ${install.ms} ms`);
  });

  test('warm: a fresh client updates and installs with no upstream request', async (t) => {
    const env = await newEnv();
    upstream.resetCounts();
    const update = await env.aptGet(['update']);
    assertAptOk(update, 'apt-get update');
    const install = await env.aptGet(['install', '-y', '--no-install-recommends', 'world', 'tiny']);
    assertAptOk(install, 'apt-get install');
    assert.equal(upstream.requests(), 0, upstream.log.map((l) => l.path).join('\n'));
    t.diagnostic(`warm mirror: apt-get update ${update.ms} ms, apt-get install (3 packages) ${install.ms} ms`);
  });

  test('apt refuses the mirror when signed-by names a different key', async () => {
    const other = await makeAptEnv();
    envs.push(other);
    const wrong = await other.writeFile('upstream.asc', key.armored);
    const env = await newEnv(wrong);
    const r = await env.aptGet(['update']);
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /NO_PUBKEY|is not signed|signatures couldn't be verified/);
    const dl = await env.aptGet(['download', 'tiny'], { cwd: env.downloads });
    assert.notEqual(dl.code, 0, 'nothing is installable from an unverified repository');
  });

  /** A client set up as /<repo>/-/setup says: its keyrings downloaded, its deb822 stanza (paths made private). */
  const fromSetup = async (repository: string, onlyPrimary = false): Promise<AptEnv> => {
    const env = await makeAptEnv();
    envs.push(env);
    const setup = await (await mirror.get(`/${repository}/-/setup`)).text();
    const downloads = [...setup.matchAll(/^curl -fsSL (\S+) -o \/etc\/apt\/keyrings\/(\S+)$/gm)];
    assert.ok(downloads.length > 0, setup);
    for (const [, url, file] of downloads) {
      if (onlyPrimary && file!.includes('unverified')) continue;
      const res = await fetch(url!);
      assert.equal(res.status, 200, url);
      await env.writeFile(file!, await res.text());
    }
    let stanza = /^Types: deb\n[\s\S]*?^Signed-By: .*$/m.exec(setup)?.[0];
    assert.ok(stanza, setup);
    stanza = stanza.replaceAll('/etc/apt/keyrings/', `${env.keysDir}/`);
    if (onlyPrimary) stanza = stanza.replace(/^Signed-By: .*$/m, `Signed-By: ${env.keysDir}/countersign-${repository}.asc`);
    await env.setDeb822Sources(repository, stanza);
    return env;
  };

  test('verify: warn, set up as /-/setup says: apt takes the suite that did not verify, signed by the unverified key', async () => {
    const env = await fromSetup('loose');
    const r = await env.aptGet(['update']);
    assertAptOk(r, 'apt-get update');
    for (const suite of ['stable', 'rogue']) assert.match(r.stdout, new RegExp(`Get:\\d+ ${mirror.url}/loose ${suite} InRelease`));
    const dl = await env.aptGet(['download', 'tiny'], { cwd: env.downloads });
    assertAptOk(dl, `apt-get download (update said:\n${r.stdout}\n${r.stderr})`);
    assert.equal(sha256(await readFile(join(env.downloads, 'tiny_2.0_all.deb'))), sha256(await archive.file(debs.tiny!)));
  });

  test('verify: warn with the primary key alone: apt refuses the suite that did not verify, takes the one that did', async () => {
    const env = await fromSetup('loose', true);
    const r = await env.aptGet(['update']);
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`${mirror.url}/loose rogue InRelease[\\s\\S]*(NO_PUBKEY|not signed|couldn't be verified)`));
    assert.doesNotMatch(r.stderr, /loose stable InRelease/, 'the suite that verified is signed by the primary key');
  });
});
