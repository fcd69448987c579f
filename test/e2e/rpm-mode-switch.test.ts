/**
 * Switching `packages:` between keep and resign on one data directory (issue 13): what is served
 * follows today's configuration, never what the other mode derived. The choice is part of the trust
 * block and so of the trust epoch: a switch re-verifies the stored copies before serving them.
 * Checked with dnf (each mode's own setup text), gpg (repomd.xml.asc) and rpmkeys (packages).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { freePort, makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { dnfClient, type DnfClient } from '../helpers/rpm-dnf-client.js';
import { buildRpmRepo, makeGpgKey, publishRpmRepo, type BuiltRpmRepo, type GpgKey } from '../helpers/rpm-fixture.js';
import { rpmkeysCheck } from '../helpers/rpm-inspect.js';

const REPOMD = 'repodata/repomd.xml';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('rpm packages: keep ↔ resign on one data directory', () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let repo: BuiltRpmRepo;
  let dataDir: string;
  let mirror: RunningMirror | undefined;
  let orgKeys: string;
  /** One address across restarts, so a dnf client set up under one mode reaches the mirror under the next. */
  let port: number;
  const clients: DnfClient[] = [];

  const start = async (packages: 'keep' | 'resign') => {
    await mirror?.close();
    mirror = await startMirror({ dataDir, listen: { port }, publicUrl: `http://127.0.0.1:${port}`, repositories: [{ name: 'el', format: 'rpm', upstream: `${upstream.url}/el`, trust: { keyring: 'upstream.asc', packages } }] });
    return mirror;
  };
  const fetchOk = async (path: string) => {
    const res = await mirror!.get(path);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 200, `${path}: ${res.status} ${res.status === 200 ? '' : bytes.toString('utf8').slice(0, 400)}`);
    return bytes;
  };
  /** What the mirror serves now: repomd.xml (checked with gpg and the org key), the primary it lists, one package. */
  const served = async () => {
    const repomd = await fetchOk(`/el/${REPOMD}`);
    const gpg = await gpgVerify(orgKeys, repomd, await fetchOk(`/el/${REPOMD}.asc`));
    assert.ok(gpg.ok, gpg.status);
    const primaryHref = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd.toString('utf8'))![1]!;
    const primary = await fetchOk(`/el/${primaryHref}`);
    assert.ok(repomd.toString('utf8').includes(sha256(primary)), 'repomd.xml lists the primary served');
    const pkg = await fetchOk(`/el/${repo.packagePaths[0]!}`);
    return { repomd, primary, primaryHref, pkg };
  };
  const install = async (name: string) => {
    const c = await dnfClient('el', await (await mirror!.get('/el/-/setup')).text());
    clients.push(c);
    const r = await c.dnf('install', name);
    assert.equal(r.code, 0, r.out);
    return c;
  };

  before(async () => {
    [upstream, key] = await Promise.all([startFixtureUpstream(), makeGpgKey()]);
    repo = await buildRpmRepo({ packages: [{ name: 'first-pkg' }, { name: 'second-pkg' }, { name: 'third-pkg' }], packageKey: key });
    publishRpmRepo(upstream, '/el', repo);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
    port = await freePort();
    await start('keep');
    orgKeys = await (await mirror!.get('/-/keys/openpgp.asc')).text();
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await mirror?.close();
    await upstream?.stop();
    await key?.close();
    if (dataDir) await removeDir(dataDir);
  });

  test('keep → resign → keep: each serves its own mode\'s bytes, and dnf installs with each mode\'s setup', async () => {
    const upstreamPkg = repo.files.get(repo.packagePaths[0]!)!;

    const kept = await served();
    assert.deepEqual(kept.primary, repo.files.get(kept.primaryHref), 'keep: primary is the upstream\'s');
    assert.deepEqual(kept.pkg, upstreamPkg, 'keep: the package is the upstream\'s');
    assert.ok((await rpmkeysCheck([key.armoredPublic], kept.pkg)).ok);
    const keptClient = await install('first-pkg');
    assert.match(keptClient.repoFile, /^gpgcheck=0$/m);

    await start('resign');
    const resigned = await served();
    assert.notDeepEqual(resigned.repomd, kept.repomd, 'resign: another repomd.xml');
    assert.notDeepEqual(resigned.primary, kept.primary, 'resign: primary lists the re-signed packages');
    assert.notDeepEqual(resigned.pkg, upstreamPkg, 'resign: the package is re-signed');
    const byOrg = await rpmkeysCheck([orgKeys], resigned.pkg);
    assert.ok(byOrg.ok, byOrg.out);
    assert.equal((await rpmkeysCheck([key.armoredPublic], resigned.pkg)).ok, false, 'the upstream signature was replaced');
    const resignClient = await install('second-pkg');
    assert.match(resignClient.repoFile, /^gpgcheck=1$/m);

    await start('keep');
    const again = await served();
    assert.deepEqual(again.repomd, kept.repomd, 'keep again: the same repomd.xml as before');
    assert.deepEqual(again.primary, kept.primary);
    assert.deepEqual(again.pkg, upstreamPkg, 'keep again: the upstream\'s package, not the re-signed one');
    // A client set up under resign (gpgcheck=1, the org key only) refuses the upstream-signed package:
    // it needs keep's setup text; the client set up under keep works after the round trip.
    const strict = await resignClient.dnf('--refresh', 'install', 'third-pkg');
    assert.notEqual(strict.code, 0, strict.out);
    assert.match(strict.out, /GPG check FAILED|NOKEY|not installed|public key/i, strict.out);
    const r = await keptClient.dnf('--refresh', 'install', 'third-pkg');
    assert.equal(r.code, 0, r.out);
  });
});
