/**
 * Helm: the org key never vouches for a chart today's trust would refuse. Each test changes what
 * the upstream serves or what the operator trusts (mode, pinned author keys) and the mirror must
 * refuse; each has a positive control whose `.prov` verifies as Helm verifies it (gpg with a binary
 * keyring, and the archive's sha256 against the files entry for its name) with the primary org key.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { helmProvenanceBody, helmRepo, packageChart, type FixtureChart, type HelmRepoFixture } from '../helpers/helm-fixture.js';
import { makeChartAuthorKey, verifyLikeHelm, type ChartAuthorKey } from '../helpers/helm-gpg.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const TTL_MS = 60_000;

describe('helm: trust', () => {
  let upstream: FixtureUpstream;
  let keyA: ChartAuthorKey;
  let keyB: ChartAuthorKey;
  let repo: HelmRepoFixture;
  let byA: FixtureChart;
  let byB: FixtureChart;
  let unsigned: FixtureChart;
  let mirror: RunningMirror | undefined;
  const dirs: string[] = [];

  const repository = (over: Record<string, unknown> = {}) => ({
    name: 'charts', format: 'helm', upstream: repo.url, verify: 'require' as const, trust: { keyring: 'authors.asc' }, metadataTtl: `${TTL_MS}ms`, retries: 0, ...over,
  });

  async function restart(dataDir: string, repo: ReturnType<typeof repository>, keyring?: ChartAuthorKey[]): Promise<RunningMirror> {
    await mirror?.close();
    mirror = undefined;
    if (keyring) await writeFile(join(dataDir, 'authors.asc'), keyring.map((k) => k.armoredPublic).join(''));
    mirror = await startMirror({ dataDir, repositories: [repo] });
    return mirror;
  }

  async function newDataDir(): Promise<string> {
    const dir = await makeDataDir();
    dirs.push(dir);
    return dir;
  }

  /** Which org key (as published by the mirror) Helm would accept the served `.prov` of `chart` with. */
  async function orgSignature(m: RunningMirror, chart: FixtureChart): Promise<{ primary: boolean; unverified: boolean }> {
    const res = await m.get(`/charts/${chart.fileName}`);
    assert.equal(res.status, 200, `${chart.fileName} should be served`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const prov = await m.get(`/charts/${chart.fileName}.prov`);
    assert.equal(prov.status, 200, `${chart.fileName}.prov should be served`);
    const text = await prov.text();
    const check = async (keysPath: string): Promise<boolean> => {
      const keys = await m.get(keysPath);
      return keys.status === 200 && (await verifyLikeHelm(await keys.text(), text, bytes, chart.fileName)).ok;
    };
    return { primary: await check('/-/keys/openpgp.asc'), unverified: await check('/-/keys/openpgp-unverified.asc') };
  }

  async function refused(m: RunningMirror, path: string, code: string | RegExp): Promise<string> {
    const res = await m.get(path);
    assert.equal(res.status, 502, `${path} should be refused`);
    const body = (await res.json()) as { code: string; repository: string; object: string; error: string };
    assert.match(body.code, typeof code === 'string' ? new RegExp(`^${code}$`) : code, body.error);
    assert.equal(body.repository, 'charts');
    return body.error;
  }

  before(async () => {
    [upstream, keyA, keyB] = await Promise.all([startFixtureUpstream(), makeChartAuthorKey('Author A'), makeChartAuthorKey('Author B')]);
    repo = helmRepo(upstream, '/repo');
    [byA, byB, unsigned] = await Promise.all([packageChart('alpha', '1.0.0'), packageChart('beta', '1.0.0'), packageChart('gamma', '1.0.0')]);
    await repo.publish(byA, { signer: keyA });
    await repo.publish(byB, { signer: keyB });
    await repo.publish(unsigned);
    repo.writeIndex();
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await keyA?.close();
    await keyB?.close();
    for (const d of dirs) await removeDir(d);
  });

  test('pinned keyring: a chart whose .prov verifies gets a primary org .prov; a wrong key or no .prov is refused', async () => {
    const m = await restart(await newDataDir(), repository(), [keyA]);
    assert.deepEqual(await orgSignature(m, byA), { primary: true, unverified: false });
    await refused(m, `/charts/${byB.fileName}`, 'VERIFICATION_FAILED');
    await refused(m, `/charts/${byB.fileName}.prov`, 'VERIFICATION_FAILED');
    assert.match(await refused(m, `/charts/${unsigned.fileName}`, 'VERIFICATION_FAILED'), /has no gamma-1\.0\.0\.tgz\.prov/);
  });

  test('a key removed from trust.keyring stops vouching at the next request; added back, it vouches again', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repository(), [keyA, keyB]);
    assert.deepEqual(await orgSignature(m, byB), { primary: true, unverified: false });
    m = await restart(dataDir, repository(), [keyA]);
    await refused(m, `/charts/${byB.fileName}`, /VERIFICATION_FAILED|SIGNING_REFUSED/);
    await refused(m, `/charts/${byB.fileName}.prov`, /VERIFICATION_FAILED|SIGNING_REFUSED/);
    assert.deepEqual(await orgSignature(m, byA), { primary: true, unverified: false });
    m = await restart(dataDir, repository(), [keyA, keyB]);
    assert.deepEqual(await orgSignature(m, byB), { primary: true, unverified: false });
  });

  test('warn: what does not verify is served with a .prov by the unverified key only; back under require it is refused', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repository({ verify: 'warn' }), [keyA]);
    assert.deepEqual(await orgSignature(m, byB), { primary: false, unverified: true });
    assert.deepEqual(await orgSignature(m, unsigned), { primary: false, unverified: true });
    assert.deepEqual(await orgSignature(m, byA), { primary: true, unverified: false });
    m = await restart(dataDir, repository(), [keyA]);
    await refused(m, `/charts/${byB.fileName}`, /VERIFICATION_FAILED|SIGNING_REFUSED/);
    await refused(m, `/charts/${unsigned.fileName}.prov`, /VERIFICATION_FAILED|SIGNING_REFUSED/);
    assert.deepEqual(await orgSignature(m, byA), { primary: true, unverified: false });
  });

  test('offline, a removed key is applied from the upstream .prov kept with each chart', async () => {
    const dataDir = await newDataDir();
    const m = await restart(dataDir, repository(), [keyA, keyB]);
    assert.deepEqual(await orgSignature(m, byA), { primary: true, unverified: false });
    assert.deepEqual(await orgSignature(m, byB), { primary: true, unverified: false });
    await m.close();
    mirror = undefined;
    await writeFile(join(dataDir, 'authors.asc'), keyA.armoredPublic);
    const offline = mirror = await startMirror({ dataDir, offline: true, repositories: [repository()] });
    upstream.resetCounts();
    assert.notEqual((await offline.get(`/charts/${byB.fileName}`)).status, 200, 'signed only by the removed key: not served, even offline');
    assert.notEqual((await offline.get(`/charts/${byB.fileName}.prov`)).status, 200);
    assert.deepEqual(await orgSignature(offline, byA), { primary: true, unverified: false });
    assert.equal(upstream.requests(), 0);
  });

  test('verify: off serves every chart, each .prov by the unverified key only', async () => {
    const m = await restart(await newDataDir(), repository({ verify: 'off', trust: {} }));
    assert.deepEqual(await orgSignature(m, unsigned), { primary: false, unverified: true });
    assert.deepEqual(await orgSignature(m, byA), { primary: false, unverified: true });
  });

  test('a genuine .prov of another chart, replayed beside this one, is refused', async () => {
    const victim = await packageChart('delta', '1.0.0');
    // The author really signed alpha's .prov; the upstream serves it as delta's.
    await repo.publish(victim, { prov: await keyA.clearsign(helmProvenanceBody(byA)) });
    repo.writeIndex();
    const m = await restart(await newDataDir(), repository(), [keyA]);
    assert.match(await refused(m, `/charts/${victim.fileName}`, 'VERIFICATION_FAILED'), /lists no file named delta-1\.0\.0\.tgz/);
    await refused(m, `/charts/${victim.fileName}.prov`, 'VERIFICATION_FAILED');
    // A .prov naming this file but carrying another archive's digest (an older release's signature) is refused too.
    await repo.publish(victim, { prov: await keyA.clearsign(helmProvenanceBody(byA, victim.fileName)) });
    m.advanceClock(TTL_MS + 1);
    assert.match(await refused(m, `/charts/${victim.fileName}`, 'VERIFICATION_FAILED'), /gives delta-1\.0\.0\.tgz the digest sha256:/);
    // Positive control: the right .prov for it is accepted.
    await repo.publish(victim, { signer: keyA });
    assert.deepEqual(await orgSignature(m, victim), { primary: true, unverified: false });
  });

  test('a republished chart with a valid .prov but not the digest the index vouches for is refused and not stored', async () => {
    const original = await packageChart('epsilon', '1.0.0');
    const republished = await packageChart('epsilon', '1.0.0', 'Changed behind the index');
    await repo.publish(original, { signer: keyA });
    repo.writeIndex();
    const m = await restart(await newDataDir(), repository(), [keyA]);
    assert.equal((await m.get('/charts/index.yaml')).status, 200);
    await repo.publish(republished, { signer: keyA });
    await refused(m, `/charts/${original.fileName}`, 'DIGEST_MISMATCH');
    await refused(m, `/charts/${original.fileName}.prov`, 'DIGEST_MISMATCH');
    // Positive control: once the index vouches for the new bytes, they verify.
    repo.writeIndex();
    m.advanceClock(TTL_MS + 1);
    assert.equal((await m.get('/charts/index.yaml')).status, 200);
    assert.deepEqual(await orgSignature(m, republished), { primary: true, unverified: false });
  });

  test('require needs an anchor: a keyring, or first-use of each chart digest', async () => {
    const dataDir = await newDataDir();
    await assert.rejects(restart(dataDir, repository({ trust: {} })), (err: Error) => /trust\.keyring/.test(err.message) && /first-use/.test(err.message));
    const m = await restart(dataDir, repository({ trust: {}, anchor: 'first-use' }));
    const res = await m.get(`/charts/${unsigned.fileName}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('x-countersign-verification') ?? '', /anchor=first-use/);
    assert.deepEqual(await orgSignature(m, unsigned), { primary: true, unverified: false });
    // A chart the index does not list is not vouched for by anything.
    upstream.setFile(`/repo/unlisted-1.0.0.tgz`, unsigned.bytes);
    await refused(m, '/charts/unlisted-1.0.0.tgz', 'VERIFICATION_FAILED');
  });
});
