/**
 * Issue 9 for Python: the org primary key never vouches for a file today's trust would refuse.
 * A Python index has no upstream signature, so `require` rests on hashes pinned on first use;
 * each test changes the trust under a running data directory (mode, anchor, the pinned hashes)
 * and checks with the real gpg which org key signed what is served, with positive controls.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { configText, makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { buildDists } from '../helpers/pypi-dists.js';
import { PypiFixture, type PublishedFile } from '../helpers/pypi-fixture.js';

const TTL_MS = 60_000;
const exec = promisify(execFile);
const ACCEPT = 'application/vnd.pypi.simple.v1+json';

describe('pypi: trust changes take effect at the next request', () => {
  let upstream: FixtureUpstream;
  let index: PypiFixture;
  let beta: PublishedFile;
  const dirs: string[] = [];
  let mirror: RunningMirror | undefined;

  const repo = (over: { verify?: 'require' | 'warn' | 'off'; anchor?: 'pinned' | 'first-use' } = {}) => ({
    name: 'py', format: 'pypi', upstream: upstream.url, verify: 'require' as const, anchor: 'first-use' as const, metadataTtl: `${TTL_MS}ms`, retries: 0, ...over,
  });

  async function restart(dataDir: string, repository: ReturnType<typeof repo>): Promise<RunningMirror> {
    await mirror?.close();
    mirror = await startMirror({ dataDir, repositories: [repository] });
    return mirror;
  }

  async function newDataDir(): Promise<string> {
    const dir = await makeDataDir();
    dirs.push(dir);
    return dir;
  }

  async function fileUrl(m: RunningMirror, project: string, filename: string): Promise<string | undefined> {
    const res = await m.get(`/py/simple/${project}/`, { headers: { accept: ACCEPT } });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { files: { filename: string; url: string }[] }).files.find((f) => f.filename === filename)?.url;
  }

  async function verifiesWith(m: RunningMirror, keysPath: string, file: Buffer, signature: string): Promise<boolean> {
    const keys = await m.get(keysPath);
    if (keys.status !== 200) return false;
    return (await gpgVerify(await keys.text(), file, signature).catch(() => ({ ok: false }))).ok;
  }

  /** The served file and its org `.asc`, checked with gpg against the primary and the unverified keys. */
  async function orgSignature(m: RunningMirror, url: string): Promise<{ primary: boolean; unverified: boolean }> {
    const res = await fetch(url);
    assert.equal(res.status, 200, await res.clone().text());
    const file = Buffer.from(await res.arrayBuffer());
    const asc = await fetch(`${url}.asc`);
    assert.equal(asc.status, 200, `${url}.asc: ${await asc.clone().text()}`);
    const signature = await asc.text();
    return {
      primary: await verifiesWith(m, '/-/keys/openpgp.asc', file, signature),
      unverified: await verifiesWith(m, '/-/keys/openpgp-unverified.asc', file, signature),
    };
  }

  before(async () => {
    upstream = await startFixtureUpstream();
    index = new PypiFixture(upstream);
    beta = index.publish('cs-beta', '1.0', (await buildDists({ name: 'cs-beta', version: '1.0' })).wheel);
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    for (const d of dirs) await removeDir(d);
  });

  test('verify: require without anchor: first-use is refused at start: nothing the operator pinned could vouch', async () => {
    await assert.rejects(startMirror({ dataDir: await newDataDir(), repositories: [repo({ anchor: 'pinned' })] }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, /anchor: first-use/);
      return true;
    });
  });

  test('warn (nothing pinned) → require with first-use pins: the unverified key signs, then the primary one', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repo({ verify: 'warn', anchor: 'pinned' }));
    let url = (await fileUrl(m, 'cs-beta', beta.filename))!;
    const page = await m.get('/py/simple/cs-beta/', { headers: { accept: ACCEPT } });
    assert.match(page.headers.get('x-countersign-verification') ?? '', /anchor=none/);
    assert.deepEqual(await orgSignature(m, url), { primary: false, unverified: true });

    m = await restart(dataDir, repo());
    url = (await fileUrl(m, 'cs-beta', beta.filename))!;
    assert.deepEqual(await orgSignature(m, url), { primary: true, unverified: false });
  });

  test('require → warn without pins: what was signed by the primary key is now signed by the unverified one only', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repo());
    const url = (await fileUrl(m, 'cs-beta', beta.filename))!;
    assert.deepEqual(await orgSignature(m, url), { primary: true, unverified: false });
    m = await restart(dataDir, repo({ verify: 'warn', anchor: 'pinned' }));
    assert.deepEqual(await orgSignature(m, (await fileUrl(m, 'cs-beta', beta.filename))!), { primary: false, unverified: true });
  });

  test('a hash that changed after it was pinned: refused under require, served under warn by the unverified key only', async () => {
    const dataDir = await newDataDir();
    const gammaDists = await buildDists({ name: 'cs-gamma', version: '1.0' });
    const gamma = index.publish('cs-gamma', '1.0', gammaDists.wheel);
    const other = index.publish('cs-gamma', '1.0', gammaDists.sdist);
    let m = await restart(dataDir, repo());
    assert.ok(await fileUrl(m, 'cs-gamma', gamma.filename), 'pinned on first use');

    // The upstream now claims another hash for the same file name (and serves matching bytes).
    const evil = await buildDists({ name: 'cs-gamma', version: '1.0', body: 'EVIL = True\n' });
    const swapped = index.publish('cs-gamma', '1.0', evil.wheel);
    m = await restart(dataDir, repo());
    m.advanceClock(TTL_MS + 1);
    assert.equal(await fileUrl(m, 'cs-gamma', gamma.filename), undefined, 'not listed under require');
    const refused = await m.get(`/py/files/cs-gamma${swapped.path}`);
    assert.equal(refused.status, 502);
    assert.equal((await m.get(`/py/files/cs-gamma${swapped.path}.asc`)).status, 502, 'no org signature over it');
    // Positive control: the file whose hash did not change is still verified and primary-signed.
    assert.deepEqual(await orgSignature(m, (await fileUrl(m, 'cs-gamma', other.filename))!), { primary: true, unverified: false });

    m = await restart(dataDir, repo({ verify: 'warn' }));
    const listed = await fileUrl(m, 'cs-gamma', gamma.filename);
    assert.ok(listed, 'listed under warn');
    assert.deepEqual(await orgSignature(m, listed), { primary: false, unverified: true });
    assert.deepEqual(await orgSignature(m, (await fileUrl(m, 'cs-gamma', other.filename))!), { primary: true, unverified: false });

    // The operator accepts the change with the real CLI: the next page pins the new hash, and the
    // file is verified and primary-signed again under require.
    await m.close();
    mirror = undefined;
    const config = join(dataDir, 'config.yaml');
    await writeFile(config, configText({ dataDir, repositories: [repo()] }));
    const pin = `pypi:cs-gamma/${gamma.filename}`;
    const { stdout } = await exec(process.execPath, [join(process.cwd(), 'bin', 'countersign.js'), '--config', config, 'trust', 'accept', 'py', pin]);
    assert.match(stdout, /forgot 1 pin/);
    m = await restart(dataDir, repo());
    m.advanceClock(TTL_MS + 1);
    const accepted = await fileUrl(m, 'cs-gamma', gamma.filename);
    assert.ok(accepted, 'listed again once accepted');
    assert.ok(accepted.endsWith(swapped.path), 'with the new bytes');
    assert.deepEqual(await orgSignature(m, accepted), { primary: true, unverified: false });
  });

  test('verify: off serves pages and files, every .asc by the unverified key; back to require, the primary key', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repo({ verify: 'off', anchor: 'pinned' }));
    const page = await m.get('/py/simple/cs-beta/', { headers: { accept: ACCEPT } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('x-countersign-verification') ?? '', /^unverified; mode=off/);
    await page.arrayBuffer();
    assert.deepEqual(await orgSignature(m, (await fileUrl(m, 'cs-beta', beta.filename))!), { primary: false, unverified: true });
    // Nothing checks a page under off, but one that does not parse is still refused, never served.
    upstream.setHandler('/simple/cs-broken/', (_req, res) => {
      res.writeHead(200, { 'content-type': ACCEPT });
      res.end('{"meta": {"api-version": "1.1"}, "name": "cs-broken", "files": [');
    });
    const broken = await m.get('/py/simple/cs-broken/', { headers: { accept: ACCEPT } });
    assert.equal(broken.status, 502);
    assert.equal(((await broken.json()) as { code: string }).code, 'MALFORMED');
    m = await restart(dataDir, repo());
    assert.deepEqual(await orgSignature(m, (await fileUrl(m, 'cs-beta', beta.filename))!), { primary: true, unverified: false });
  });

  test('offline after a trust change: re-verified from what is stored, without the upstream', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repo());
    const url = (await fileUrl(m, 'cs-beta', beta.filename))!;
    assert.deepEqual(await orgSignature(m, url), { primary: true, unverified: false });
    await m.close();
    m = mirror = await startMirror({ dataDir, offline: true, repositories: [repo({ verify: 'warn' })] });
    assert.deepEqual(await orgSignature(m, (await fileUrl(m, 'cs-beta', beta.filename))!), { primary: true, unverified: false });
    await m.close();
    m = mirror = await startMirror({ dataDir, offline: true, repositories: [repo({ verify: 'warn', anchor: 'pinned' })] });
    assert.deepEqual(await orgSignature(m, (await fileUrl(m, 'cs-beta', beta.filename))!), { primary: false, unverified: true });
  });
});
