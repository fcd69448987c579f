/**
 * `packages: keep` (issue 13) with dnf 4 as the client: the org signs repomd.xml only, metadata and
 * packages are the upstream's bytes, and the trust promise still holds:
 * - dnf makecache and install work with the mirror's own /-/setup text, and makecache fetches no
 *   package from the upstream (the first request no longer re-signs every package listed);
 * - gpg checks repomd.xml.asc against the org key; rpmkeys checks the served package is the
 *   upstream's, signed by the upstream key;
 * - a package tampered upstream (bytes no longer match primary.xml) is refused and not stored;
 * - a package whose header signature is not by a pinned key is refused under require, in keep
 *   mode too; each refusal paired with the positive control that passes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { dnfClient, type DnfClient } from '../helpers/rpm-dnf-client.js';
import { buildRpmRepo, makeGpgKey, publishRpmRepo, type BuiltRpmRepo, type GpgKey } from '../helpers/rpm-fixture.js';
import { rpmkeysCheck } from '../helpers/rpm-inspect.js';

const REPOMD = 'repodata/repomd.xml';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('rpm packages: keep, with dnf', () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let foreignKey: GpgKey;
  let repo: BuiltRpmRepo;
  let foreign: BuiltRpmRepo;
  let mirror: RunningMirror;
  let dataDir: string;
  let orgKeys: string;
  const clients: DnfClient[] = [];

  const keepRepo = (name: string, path: string, verify: 'require' | 'warn', trust: Record<string, string> = {}) => ({
    name, format: 'rpm', upstream: `${upstream.url}/${path}`, verify, retries: 0, trust: { keyring: 'upstream.asc', packages: 'keep', ...trust },
  });
  const pkgPath = (r: BuiltRpmRepo, name: string) => r.packagePaths.find((p) => p.startsWith(`Packages/${name}-`))!;
  const client = async (name: string) => {
    const c = await dnfClient(name, await (await mirror.get(`/${name}/-/setup`)).text());
    clients.push(c);
    return c;
  };
  const fetchOk = async (path: string) => {
    const res = await mirror.get(path);
    assert.equal(res.status, 200, `${path}: ${res.status} ${res.status === 200 ? '' : await res.clone().text()}`);
    return Buffer.from(await res.arrayBuffer());
  };

  before(async () => {
    [upstream, key, foreignKey] = await Promise.all([startFixtureUpstream(), makeGpgKey(), makeGpgKey('Not Pinned')]);
    repo = await buildRpmRepo({ packages: [{ name: 'hello-mirror', content: 'kept through countersign' }, { name: 'other-pkg' }], packageKey: key });
    // repomd.xml signed by the pinned key, the packages by a key the operator did not pin.
    foreign = await buildRpmRepo({ packages: [{ name: 'foreign-pkg' }], packageKey: foreignKey, repoKey: key });
    publishRpmRepo(upstream, '/el', repo);
    publishRpmRepo(upstream, '/foreign', foreign);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
    await writeFile(join(dataDir, 'both.asc'), `${key.armoredPublic}\n${foreignKey.armoredPublic}`);
    mirror = await startMirror({
      dataDir,
      repositories: [
        keepRepo('el', 'el', 'require'),
        keepRepo('foreign', 'foreign', 'require'),
        keepRepo('foreignwarn', 'foreign', 'warn'),
        keepRepo('foreignpinned', 'foreign', 'require', { packageKeyring: 'both.asc' }),
      ],
    });
    orgKeys = await (await mirror.get('/-/keys/openpgp.asc')).text();
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await mirror?.close();
    await upstream?.stop();
    await key?.close();
    await foreignKey?.close();
    if (dataDir) await removeDir(dataDir);
  });

  test('dnf makecache and install with the setup text; makecache fetches no package; bytes are the upstream\'s; repomd.xml.asc by the org key', async (t) => {
    upstream.resetCounts();
    const dnf = await client('el');
    assert.match(dnf.repoFile, /^gpgcheck=0$/m);
    assert.match(dnf.repoFile, /^repo_gpgcheck=1$/m);
    const made = await dnf.dnf('makecache');
    assert.equal(made.code, 0, made.out);
    assert.match(made.out, /Importing GPG key/);
    for (const p of repo.packagePaths) assert.equal(upstream.requests(`/el/${p}`), 0, `${p} was not fetched for makecache`);

    const served = await fetchOk(`/el/${REPOMD}`);
    const asc = await fetchOk(`/el/${REPOMD}.asc`);
    const byOrg = await gpgVerify(orgKeys, served, asc);
    assert.ok(byOrg.ok, byOrg.status);
    const upstreamText = repo.files.get(REPOMD)!.toString('utf8');
    const servedText = served.toString('utf8');
    assert.doesNotMatch(servedText, /_db"/, 'sqlite copies are left out');
    for (const [path, bytes] of repo.files) {
      if (!/-(primary|filelists|other)\.xml\.gz$/.test(path)) continue;
      assert.ok(servedText.includes(`<location href="${path}"/>`), `${path} is listed as upstream lists it`);
      assert.ok(servedText.includes(sha256(bytes)) && upstreamText.includes(sha256(bytes)), `${path}: the upstream's checksum`);
      assert.deepEqual(await fetchOk(`/el/${path}`), bytes, `${path} is served byte-identical`);
    }

    const install = await dnf.dnf('install', 'hello-mirror');
    assert.equal(install.code, 0, install.out);
    assert.match(install.out, /Complete!/);
    assert.equal(await dnf.installed('usr/share/hello-mirror/hello-mirror.txt'), 'kept through countersign\n');
    const path = pkgPath(repo, 'hello-mirror');
    assert.equal(upstream.requests(`/el/${path}`), 1, 'the installed package was fetched once');
    const pkg = await fetchOk(`/el/${path}`);
    assert.deepEqual(pkg, repo.files.get(path), 'the package keeps its upstream bytes');
    const byUpstream = await rpmkeysCheck([key.armoredPublic], pkg);
    assert.ok(byUpstream.ok, byUpstream.out);
    assert.equal((await rpmkeysCheck([orgKeys], pkg)).ok, false, 'not re-signed by the org');
    t.diagnostic(`served repomd.xml ${served.length} bytes (upstream ${repo.files.get(REPOMD)!.length})`);
  });

  test('warm hits and concurrent cold requests: one upstream fetch per package, none once cached', async () => {
    const path = pkgPath(repo, 'other-pkg');
    upstream.resetCounts();
    const cold = await Promise.all(Array.from({ length: 20 }, () => fetchOk(`/el/${path}`)));
    for (const b of cold) assert.deepEqual(b, repo.files.get(path));
    assert.equal(upstream.requests(`/el/${path}`), 1, '20 concurrent cold requests, one upstream fetch');
    upstream.resetCounts();
    await fetchOk(`/el/${path}`);
    await fetchOk(`/el/${REPOMD}`);
    assert.equal(upstream.requests(), 0, 'warm hits reach the upstream zero times');
  });

  test('a package tampered upstream does not match primary.xml: refused, not stored, dnf install fails; the genuine one installs', async () => {
    const fresh = await buildRpmRepo({ packages: [{ name: 'tamper-me', content: 'genuine' }], packageKey: key });
    publishRpmRepo(upstream, '/tamper', fresh);
    // A repository added beside the others, so the package has never been fetched.
    const path = pkgPath(fresh, 'tamper-me');
    await mirror.close();
    mirror = await startMirror({ dataDir, repositories: [keepRepo('tamper', 'tamper', 'require')] });
    upstream.setMode(`/tamper/${path}`, 'tamper');
    const dnf = await client('tamper');
    const refused = await dnf.dnf('install', 'tamper-me');
    assert.notEqual(refused.code, 0, refused.out);
    const res = await mirror.get(`/tamper/${path}`);
    assert.equal(res.status, 502);
    const body = (await res.json()) as { code: string; error: string };
    assert.equal(body.code, 'DIGEST_MISMATCH', body.error);
    assert.equal(mirror.app.store.index.getObject('tamper', path), undefined, 'nothing stored');
    assert.equal(await dnf.installed('usr/share/tamper-me/tamper-me.txt'), undefined);

    upstream.clearModes();
    const installed = await dnf.dnf('install', 'tamper-me');
    assert.equal(installed.code, 0, installed.out);
    assert.equal(await dnf.installed('usr/share/tamper-me/tamper-me.txt'), 'genuine\n');
  });

  test('require: a package whose header signature is by a key not pinned is refused in keep mode; warn serves it, pinning the key serves it verified', async () => {
    await mirror.close();
    mirror = await startMirror({
      dataDir,
      repositories: [keepRepo('foreign', 'foreign', 'require'), keepRepo('foreignwarn', 'foreign', 'warn'), keepRepo('foreignpinned', 'foreign', 'require', { packageKeyring: 'both.asc' })],
    });
    const path = pkgPath(foreign, 'foreign-pkg');
    const strict = await client('foreign');
    const made = await strict.dnf('makecache');
    assert.equal(made.code, 0, `the metadata itself verifies: ${made.out}`);
    const refused = await strict.dnf('install', 'foreign-pkg');
    assert.notEqual(refused.code, 0, refused.out);
    const res = await mirror.get(`/foreign/${path}`);
    assert.equal(res.status, 502);
    const body = (await res.json()) as { code: string; error: string };
    assert.equal(body.code, 'VERIFICATION_FAILED', body.error);
    assert.equal(mirror.app.store.index.getObject('foreign', path), undefined, 'nothing stored');

    // warn: served as the upstream's bytes, marked unverified.
    const warned = await mirror.get(`/foreignwarn/${path}`);
    assert.equal(warned.status, 200);
    assert.match(warned.headers.get('x-countersign-verification') ?? '', /^unverified/);
    // Positive control: with the package key pinned the same bytes verify and dnf installs them.
    const pinned = await client('foreignpinned');
    const installed = await pinned.dnf('install', 'foreign-pkg');
    assert.equal(installed.code, 0, installed.out);
    const ok = await mirror.get(`/foreignpinned/${path}`);
    assert.match(ok.headers.get('x-countersign-verification') ?? '', /^verified/);
    assert.deepEqual(Buffer.from(await ok.arrayBuffer()), foreign.files.get(path));
  });
});
