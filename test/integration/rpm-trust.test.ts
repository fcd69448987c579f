/**
 * The trust guarantee (issue 9) for RPM repositories, against a fixture upstream built with
 * rpmbuild, rpmsign, createrepo_c and gpg:
 * - rollback: an older, genuinely signed repomd.xml is refused and the newer one stays served;
 * - warn: what did not verify is signed by the unverified org key, which a client trusting only
 *   the primary key refuses (gpg for repomd.xml.asc, rpmkeys for packages);
 * - digests before parsers: a primary whose bytes do not match the verified repomd.xml is refused
 *   before the format's verify (and so its decompressor and parser) ever sees it.
 * Each refusal is paired with the correctly signed case served with a primary-key signature.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { rpmFormat } from '../../src/formats/rpm/index.js';
import type { FormatRepository } from '../../src/formats/types.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { buildRpmRepo, gpgDetachSign, makeGpgKey, publishRpmRepo, unpublishRepodata, type BuiltRpmRepo, type GpgKey } from '../helpers/rpm-fixture.js';
import { rpmkeysCheck } from '../helpers/rpm-inspect.js';

const TTL_MS = 60_000;
const REPOMD = 'repodata/repomd.xml';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Every path the rpm format's verify() was handed, as `<repository>:<path>` (see the spy in before()). */
const verifiedPaths: string[] = [];
const originalOpen = rpmFormat.open;

describe('rpm trust: rollback, unverified signing, digests before parsers', () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let wrongKey: GpgKey;
  let revN: BuiltRpmRepo;
  let revOlder: BuiltRpmRepo;
  let revNewer: BuiltRpmRepo;
  let mirror: RunningMirror;
  let dataDir: string;
  let primaryKeys: string;
  let unverifiedKeys: string;

  const repo = (name: string, verify: 'require' | 'warn') => ({
    name, format: 'rpm', upstream: `${upstream.url}/${name}`, verify, trust: { keyring: 'upstream.asc' }, metadataTtl: `${TTL_MS}ms`, retries: 0,
  });
  const primaryOf = (r: BuiltRpmRepo) => [...r.files.keys()].find((p) => p.endsWith('-primary.xml.gz'))!;

  before(async () => {
    // The spy: the format's verify() is wrapped so a test can tell whether it ever saw an object.
    rpmFormat.open = async (options) => {
      const opened = await originalOpen.call(rpmFormat, options);
      const inner = opened.verify.bind(opened);
      const spied: FormatRepository = { ...opened, verify: (ctx, object) => { verifiedPaths.push(`${options.repository}:${object.path}`); return inner(ctx, object); } };
      return spied;
    };
    [upstream, key, wrongKey] = await Promise.all([startFixtureUpstream(), makeGpgKey(), makeGpgKey('Somebody Else')]);
    // createrepo_c --revision: three genuinely signed revisions, built in any order but numbered.
    revN = await buildRpmRepo({ packages: [{ name: 'hello-mirror' }, { name: 'second-pkg' }], packageKey: key, revision: '2000' });
    revOlder = await buildRpmRepo({ packages: [{ name: 'hello-mirror' }], packageKey: key, revision: '1000' });
    revNewer = await buildRpmRepo({ packages: [{ name: 'hello-mirror' }, { name: 'second-pkg' }, { name: 'third-pkg' }], packageKey: key, revision: '3000' });
    for (const name of ['roll', 'warngood', 'digest']) publishRpmRepo(upstream, `/${name}`, revN);
    // The warn repository's upstream signs repomd.xml with a key the operator does not trust.
    publishRpmRepo(upstream, '/warn', revN);
    upstream.setFile(`/warn/${REPOMD}.asc`, await gpgDetachSign(wrongKey, revN.files.get(REPOMD)!));
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
    mirror = await startMirror({
      dataDir,
      repositories: [repo('roll', 'require'), repo('warn', 'warn'), repo('warngood', 'warn'), repo('digest', 'require')],
    });
    primaryKeys = await (await mirror.get('/-/keys/openpgp.asc')).text();
    unverifiedKeys = await (await mirror.get('/-/keys/openpgp-unverified.asc')).text();
  });

  after(async () => {
    rpmFormat.open = originalOpen;
    await mirror?.close();
    await upstream?.stop();
    await key?.close();
    await wrongKey?.close();
    if (dataDir) await removeDir(dataDir);
  });

  const fetchOk = async (path: string) => {
    const res = await mirror.get(path);
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return { res, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  /** repomd.xml and its .asc as served, and whether gpg with `keys` accepts the pair. */
  const signedRepomd = async (name: string, keys: string) => {
    const { res, bytes } = await fetchOk(`/${name}/${REPOMD}`);
    const asc = (await fetchOk(`/${name}/${REPOMD}.asc`)).bytes;
    return { res, bytes, asc, gpg: await gpgVerify(keys, bytes, asc) };
  };
  /** The first package the served primary lists, as served. */
  const firstPackage = async (name: string, repomd: Buffer): Promise<Buffer> => {
    const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd.toString('utf8'))![1]!;
    const primary = gunzipSync((await fetchOk(`/${name}/${href}`)).bytes).toString('utf8');
    const loc = /<location href="([^"]+\.rpm)"/.exec(primary)![1]!;
    return (await fetchOk(`/${name}/${loc}`)).bytes;
  };
  const signatureCount = () => mirror.app.store.index.signatureLog(1_000_000).length;

  test('rollback: an older, genuinely signed repomd.xml is refused, the newer one stays served (stale: rollback), nothing is signed for it', async () => {
    const served = await signedRepomd('roll', primaryKeys);
    assert.ok(served.gpg.ok, served.gpg.status);
    assert.match(served.bytes.toString('utf8'), /<revision>2000<\/revision>/);
    const signedBefore = signatureCount();

    unpublishRepodata(upstream, '/roll', revN);
    publishRpmRepo(upstream, '/roll', revOlder);
    mirror.advanceClock(TTL_MS + 1);
    upstream.resetCounts();
    const res = await mirror.get(`/roll/${REPOMD}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-countersign-stale'), 'rollback');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), served.bytes, 'revision 2000 is still what clients get');
    assert.equal(upstream.requests(`/roll/${REPOMD}`), 1, 'the older revision was fetched (and refused), not ignored');
    const asc = (await fetchOk(`/roll/${REPOMD}.asc`)).bytes;
    assert.deepEqual(asc, served.asc);
    assert.equal(signatureCount(), signedBefore, 'nothing was signed for the older revision');
    const entry = mirror.app.store.index.getObject('roll', REPOMD);
    assert.equal(entry?.sha256, sha256(revN.files.get(REPOMD)!));
    assert.equal(entry?.verification.revision?.value, 2000);
    assert.equal(mirror.app.store.index.getObject('roll', primaryOf(revOlder)), undefined, 'nothing the older revision lists was fetched');

    // Positive control: a newer revision is taken, served fresh and signed by the primary key.
    unpublishRepodata(upstream, '/roll', revOlder);
    publishRpmRepo(upstream, '/roll', revNewer);
    mirror.advanceClock(TTL_MS + 1);
    const newer = await signedRepomd('roll', primaryKeys);
    assert.equal(newer.res.headers.get('x-countersign-stale'), null);
    assert.match(newer.bytes.toString('utf8'), /<revision>3000<\/revision>/);
    assert.ok(newer.gpg.ok, newer.gpg.status);
    assert.ok(signatureCount() > signedBefore, 'the newer revision was signed');
    assert.equal(mirror.app.store.index.getObject('roll', REPOMD)?.verification.revision?.value, 3000);
  });

  test('warn: an unverified repomd.xml and its packages are signed by the unverified key, which a primary-only client refuses', async () => {
    const unverified = await signedRepomd('warn', primaryKeys);
    assert.match(unverified.res.headers.get('x-countersign-verification') ?? '', /^unverified/);
    assert.equal(unverified.gpg.ok, false, 'gpg with the primary key alone refuses repomd.xml.asc');
    const requireKeyFile = (await fetchOk(`/digest/${REPOMD}.key`)).bytes.toString('utf8');
    assert.equal((await gpgVerify(requireKeyFile, unverified.bytes, unverified.asc)).ok, false, "a require repository's repomd.xml.key does not accept it");
    const byUnverified = await gpgVerify(unverifiedKeys, unverified.bytes, unverified.asc);
    assert.ok(byUnverified.ok, byUnverified.status);

    const pkg = await firstPackage('warn', unverified.bytes);
    const primaryOnly = await rpmkeysCheck([primaryKeys], pkg);
    assert.equal(primaryOnly.ok, false, primaryOnly.out);
    assert.match(primaryOnly.out, /NOKEY/);
    const withUnverified = await rpmkeysCheck([unverifiedKeys], pkg);
    assert.ok(withUnverified.ok, withUnverified.out);

    // Positive control: verified content in a warn repository is still signed by the primary key.
    const verified = await signedRepomd('warngood', primaryKeys);
    assert.match(verified.res.headers.get('x-countersign-verification') ?? '', /^verified/);
    assert.ok(verified.gpg.ok, verified.gpg.status);
    assert.equal((await gpgVerify(unverifiedKeys, verified.bytes, verified.asc)).ok, false, 'not by the unverified key');
    const goodPkg = await rpmkeysCheck([primaryKeys], await firstPackage('warngood', verified.bytes));
    assert.ok(goodPkg.ok, goodPkg.out);
  });

  test('warn: repomd.xml.key and the setup text publish the unverified key too; a require repository only the primary', async () => {
    const warnKeyFile = (await fetchOk(`/warn/${REPOMD}.key`)).bytes.toString('utf8');
    assert.ok(warnKeyFile.includes(primaryKeys.trim()), 'the primary key');
    assert.ok(warnKeyFile.includes(unverifiedKeys.trim()), 'the unverified key');
    const warnRepomd = await signedRepomd('warn', warnKeyFile);
    assert.ok(warnRepomd.gpg.ok, `dnf pointed at the warn repository's gpgkey accepts it: ${warnRepomd.gpg.status}`);
    assert.equal((await fetchOk(`/digest/${REPOMD}.key`)).bytes.toString('utf8'), primaryKeys);
    assert.match(await (await mirror.get('/warn/-/setup')).text(), /unverified/);
    assert.doesNotMatch(await (await mirror.get('/digest/-/setup')).text(), /unverified/);
    const { keys } = (await (await mirror.get('/-/keys')).json()) as { keys: { kind: string; role: string; downloadUrl?: string }[] };
    const listed = keys.find((k) => k.kind === 'openpgp-unverified');
    assert.equal(listed?.role, 'unverified', 'the unverified OpenPGP key is listed with its role');
    assert.match(listed?.downloadUrl ?? '', /\/-\/keys\/openpgp-unverified\.asc$/);
  });

  test('digests before parsers: a primary that does not match the verified repomd.xml is refused (DIGEST_MISMATCH) before the format sees it', async () => {
    const primary = primaryOf(revN);
    upstream.setMode(`/digest/${primary}`, 'tamper');
    const res = await mirror.get(`/digest/${REPOMD}`);
    assert.equal(res.status, 502);
    const body = (await res.json()) as { code: string; error: string };
    assert.equal(body.code, 'DIGEST_MISMATCH', body.error);
    assert.ok(verifiedPaths.includes(`digest:${REPOMD}`), 'repomd.xml itself went through the format');
    assert.ok(!verifiedPaths.includes(`digest:${primary}`), 'the tampered primary never reached the format (no decompression, no parser)');
    assert.equal(mirror.app.store.index.getObject('digest', primary), undefined);
    assert.equal(mirror.app.store.index.getObject('digest', REPOMD), undefined);

    // Positive control: the genuine primary is handed to the format and the repository is served signed.
    upstream.clearModes();
    const served = await signedRepomd('digest', primaryKeys);
    assert.ok(served.gpg.ok, served.gpg.status);
    assert.ok(verifiedPaths.includes(`digest:${primary}`), 'the genuine primary went through the format');
  });
});
