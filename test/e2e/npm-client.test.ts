/**
 * The real npm CLI (the machine's npm 11) installs a 25-package tree through the mirror from a
 * real fixture registry that signs every version; npm's own pacote then checks the registry
 * signatures as `npm audit signatures` would (minus its TUF step, see formats-classic.md §1.3).
 * The first suite proves the fixture itself is a registry npm accepts, without the mirror.
 */
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CORGI_TYPE, startFixtureNpmRegistry, type FixtureNpmRegistry } from '../helpers/fixture-npm-registry.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { assertDemoTreeInstalled, nameAt, readLock } from '../helpers/npm-assert.js';
import { makeNpmProject, npmInstall, verifyWithPacote, type NpmRunResult, type PacoteVerdict } from '../helpers/npm-client.js';
import { DEMO_TREE_INSTALLED, publishDemoTree } from '../helpers/npm-demo-tree.js';
import { makeNpmSigningKey, npmKeyId } from '../helpers/npm-keys.js';

const dirs: string[] = [];
async function project(): Promise<string> {
  const dir = await makeNpmProject();
  dirs.push(dir);
  return dir;
}

function assertNpmOk(r: NpmRunResult, what: string): void {
  assert.equal(r.timedOut, false, `${what} timed out`);
  assert.equal(r.code, 0, `${what} failed:\n${r.stderr}\n${r.stdout}`);
}

function byName(verdicts: PacoteVerdict[]): Map<string, PacoteVerdict> {
  return new Map(verdicts.map((v) => [v.name, v]));
}

after(async () => {
  await Promise.all(dirs.map((d) => removeDir(d)));
});

describe('the fixture npm registry, used directly by the real npm', () => {
  let registry: FixtureNpmRegistry;
  let dir: string;

  before(async () => {
    registry = await startFixtureNpmRegistry();
    publishDemoTree(registry);
    registry.publish({ name: 'bad-wrongkey', version: '1.0.0', signature: 'wrong-key' });
    registry.publish({ name: 'bad-unknownkey', version: '1.0.0', signature: 'unknown-key' });
    registry.publish({ name: 'bad-unsigned', version: '1.0.0', signature: 'none' });
    registry.publish({ name: 'bad-tampered', version: '1.0.0', tamper: true });
    registry.publish({ name: '@org/attested', version: '1.0.0', attestations: true });
  });
  after(() => registry?.stop());

  test('serves full and abbreviated packuments, ETag/304, scoped spellings, keys and tarballs', async () => {
    const keys = (await (await fetch(`${registry.url}/-/npm/v1/keys`)).json()) as { keys: Array<Record<string, unknown>> };
    assert.deepEqual(Object.keys(keys.keys[0]!).sort(), ['expires', 'key', 'keyid', 'keytype', 'scheme']);
    assert.equal(keys.keys[0]!['keyid'], npmKeyId(Buffer.from(String(keys.keys[0]!['key']), 'base64')));

    const full = await fetch(`${registry.url}/@org%2fcore`, { headers: { accept: 'application/json' } });
    const fullDoc = (await full.json()) as { _id: string; time: Record<string, string>; versions: Record<string, { dist: Record<string, unknown> }> };
    const corgi = await fetch(`${registry.url}/@org%2fcore`, { headers: { accept: `${CORGI_TYPE}; q=1.0, application/json; q=0.8, */*` } });
    assert.equal(corgi.headers.get('content-type'), CORGI_TYPE);
    const corgiDoc = (await corgi.json()) as Record<string, unknown> & { versions: Record<string, { dist: Record<string, unknown> }> };
    assert.equal(fullDoc._id, '@org/core');
    assert.ok(fullDoc.time['1.0.0']);
    assert.deepEqual(Object.keys(corgiDoc).sort(), ['dist-tags', 'modified', 'name', 'versions']);
    assert.deepEqual(corgiDoc.versions['1.0.0']!.dist, fullDoc.versions['1.0.0']!.dist, 'dist is identical in both forms');
    assert.deepEqual(await (await fetch(`${registry.url}/@org/core`)).json(), fullDoc);

    const etag = full.headers.get('etag')!;
    assert.equal((await fetch(`${registry.url}/@org%2fcore`, { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal(registry.packumentRequests('@org/core'), 4);

    const dist = fullDoc.versions['1.0.0']!.dist as { tarball: string; integrity: string; signatures: Array<{ keyid: string; sig: string }> };
    assert.equal(dist.tarball, `${registry.url}/@org/core/-/core-1.0.0.tgz`);
    const sig = dist.signatures[0]!;
    const pub = createPublicKey({ key: Buffer.from(String(keys.keys[0]!['key']), 'base64'), format: 'der', type: 'spki' });
    assert.ok(verify('sha256', Buffer.from(`@org/core@1.0.0:${dist.integrity}`), pub, Buffer.from(sig.sig, 'base64')));
    assert.equal((await fetch(dist.tarball)).status, 200);
    assert.equal(registry.requests('/@org/core/-/core-1.0.0.tgz'), 1);
  });

  test('npm installs the 25-package tree from it into a clean directory', async (t) => {
    dir = await project();
    const started = Date.now();
    assertNpmOk(await npmInstall(dir, ['demo-app@^1.0.0'], { registry: registry.url }), 'npm install');
    t.diagnostic(`npm install from the fixture took ${Date.now() - started} ms`);
    await assertDemoTreeInstalled(dir, registry.url, registry);
  });

  test("npm's pacote verifies every installed package with the fixture's keys", async () => {
    const verdicts = await verifyWithPacote(dir, registry.url);
    assert.equal(verdicts.length, Object.keys(DEMO_TREE_INSTALLED).length);
    for (const v of verdicts) assert.deepEqual([v.location, v.status, v.keyids], [v.location, 'verified', [registry.key.keyid]], v.message);
  });

  test('the switches: wrong key, unknown key, unsigned, tampered tarball, attestations', async () => {
    const d = await project();
    assertNpmOk(await npmInstall(d, ['bad-wrongkey', 'bad-unknownkey', 'bad-unsigned', '@org/attested'], { registry: registry.url }), 'npm install');
    const verdicts = byName(await verifyWithPacote(d, registry.url));
    assert.equal(verdicts.get('bad-wrongkey')?.code, 'EINTEGRITYSIGNATURE');
    assert.equal(verdicts.get('bad-unknownkey')?.code, 'EMISSINGSIGNATUREKEY');
    assert.equal(verdicts.get('bad-unsigned')?.status, 'unsigned');
    assert.equal(verdicts.get('@org/attested')?.status, 'verified');
    const attested = registry.packument('@org/attested')['versions'] as Record<string, { dist: { attestations?: { url: string } } }>;
    assert.equal(attested['1.0.0']?.dist.attestations?.url, `${registry.url}/-/npm/v1/attestations/@org/attested@1.0.0`);

    const tampered = await npmInstall(await project(), ['bad-tampered'], { registry: registry.url });
    assert.notEqual(tampered.code, 0);
    assert.match(tampered.stderr, /EINTEGRITY/);
  });
});

describe('the real npm through the mirror', () => {
  let registry: FixtureNpmRegistry;
  let mirror: RunningMirror;
  let repoUrl: string;
  let dir: string;
  let started = 0;

  before(async () => {
    started = Date.now();
    registry = await startFixtureNpmRegistry();
    publishDemoTree(registry);
    // The upstream's keys, pinned on first use: require takes no keys the upstream serves unpinned.
    mirror = await startMirror({ repositories: [{ name: 'npm', format: 'npm', upstream: registry.url, verify: 'require', anchor: 'first-use', metadataTtl: '5m' }] });
    repoUrl = `${mirror.url}/npm`;
  });
  after(async () => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
  });

  test('npm installs the tree through the mirror into a clean directory with a clean cache', async (t) => {
    dir = await project();
    const t0 = Date.now();
    assertNpmOk(await npmInstall(dir, ['demo-app@^1.0.0'], { registry: repoUrl }), 'npm install via the mirror');
    t.diagnostic(`cold npm install via the mirror took ${Date.now() - t0} ms`);
    await assertDemoTreeInstalled(dir, repoUrl, registry);
    for (const entry of Object.values(await readLock(dir))) if (entry.resolved) assert.ok(entry.resolved.startsWith(`${mirror.url}/npm/`), entry.resolved);
  });

  test('the mirror publishes its org key and every served version carries only the org signature', async () => {
    const signer = mirror.app.keys.ecdsaSigner();
    const keys = (await (await fetch(`${repoUrl}/-/npm/v1/keys`)).json()) as { keys: Array<Record<string, unknown>> };
    const org = keys.keys.find((k) => k['keyid'] === signer.id);
    assert.ok(org, `org key ${signer.id} listed in ${JSON.stringify(keys)}`);
    assert.deepEqual(org, { expires: null, keyid: signer.id, keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256', key: signer.publicSpkiDer().toString('base64') });
    for (const location of Object.keys(DEMO_TREE_INSTALLED)) {
      const name = nameAt(location);
      const doc = (await (await fetch(`${repoUrl}/${name.replace('/', '%2f')}`, { headers: { accept: 'application/json' } })).json()) as { versions: Record<string, { dist: { signatures?: Array<{ keyid: string }>; tarball: string } }> };
      for (const [version, v] of Object.entries(doc.versions)) {
        assert.deepEqual(v.dist.signatures?.map((s) => s.keyid), [signer.id], `${name}@${version} signatures`);
        assert.ok(v.dist.tarball.startsWith(`${repoUrl}/`), v.dist.tarball);
      }
    }
  });

  test("npm's pacote verifies every installed package under the org key", async () => {
    const signer = mirror.app.keys.ecdsaSigner();
    const verdicts = await verifyWithPacote(dir, repoUrl);
    assert.equal(verdicts.length, Object.keys(DEMO_TREE_INSTALLED).length);
    for (const v of verdicts) assert.deepEqual([v.location, v.status, v.keyids], [v.location, 'verified', [signer.id]], v.message);
  });

  test('pacote refuses the same packages under other key sets', async () => {
    const orgId = mirror.app.keys.ecdsaSigner().id;
    const impostor = makeNpmSigningKey(orgId);
    const stranger = makeNpmSigningKey();
    const cases = [
      { keys: [impostor.entry()], code: 'EINTEGRITYSIGNATURE', what: 'another P-256 key under the org key id' },
      { keys: [stranger.entry()], code: 'EMISSINGSIGNATUREKEY', what: 'another key id' },
      { keys: registry.keysDocument.keys, code: 'EMISSINGSIGNATUREKEY', what: "the upstream's keys (the mirror re-signed)" },
    ];
    for (const c of cases) {
      const verdicts = await verifyWithPacote(dir, repoUrl, c.keys);
      assert.equal(verdicts.length, Object.keys(DEMO_TREE_INSTALLED).length);
      for (const v of verdicts) assert.deepEqual([v.location, v.status, v.code], [v.location, 'failed', c.code], `${c.what}: ${v.message}`);
    }
  });

  test('with the upstream stopped, a second clean install succeeds from the mirror cache alone', async (t) => {
    await registry.stop();
    registry.resetCounts();
    const again = await project();
    const t0 = Date.now();
    assertNpmOk(await npmInstall(again, ['demo-app@^1.0.0'], { registry: repoUrl }), 'npm install with the upstream down');
    t.diagnostic(`warm npm install via the mirror (upstream down) took ${Date.now() - t0} ms`);
    await assertDemoTreeInstalled(again, repoUrl, registry);
    assert.deepEqual(await readLock(again), await readLock(dir), 'the same lockfile as the first install');
    assert.equal(registry.requests(), 0);
    const verdicts = await verifyWithPacote(again, repoUrl);
    assert.ok(verdicts.every((v) => v.status === 'verified'), JSON.stringify(verdicts.filter((v) => v.status !== 'verified')));
    t.diagnostic(`the mirror suite took ${Date.now() - started} ms in all`);
  });
});
