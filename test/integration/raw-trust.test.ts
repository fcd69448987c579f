/**
 * Issue 9, for raw: the org key never vouches for what today's trust would refuse. Each test
 * changes the trust under a running data directory (mode, pinned keys, upstream, anchor) and the
 * mirror must refuse; each has a positive control served and org-signed by the primary key,
 * checked with the real gpg against the published keyrings.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as openpgp from 'openpgp';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { publishRaw } from '../helpers/raw-fixture.js';
import { makeUpstreamPgpKey, type UpstreamPgpKey } from '../helpers/upstream-openpgp.js';
import { SqliteIndexStore } from '../../src/store/sqlite-index.js';

const TTL_MS = 60_000;

describe('raw: trust changes take effect at the next request', () => {
  let upstream: FixtureUpstream;
  let keyA: UpstreamPgpKey;
  let keyB: UpstreamPgpKey;
  const dirs: string[] = [];
  let mirror: RunningMirror | undefined;

  const repo = (over: Record<string, unknown> = {}) => ({
    name: 'files', format: 'raw', upstream: `${upstream.url}/releases`, verify: 'require' as const,
    trust: { keyring: 'keyring.asc' }, metadataTtl: `${TTL_MS}ms`, retries: 0, ...over,
  });

  /** (Re)starts the mirror on `dataDir` with the given repository and keyring file contents. */
  async function restart(dataDir: string, repository: ReturnType<typeof repo>, keyring?: UpstreamPgpKey[]): Promise<RunningMirror> {
    await mirror?.close();
    if (keyring) await writeFile(join(dataDir, 'keyring.asc'), await oneKeyring(keyring));
    mirror = await startMirror({ dataDir, repositories: [repository] });
    return mirror;
  }

  async function newDataDir(): Promise<string> {
    const dir = await makeDataDir();
    dirs.push(dir);
    return dir;
  }

  /** One armored keyring holding every key, as `gpg --export --armor` writes it. */
  async function oneKeyring(list: UpstreamPgpKey[]): Promise<string> {
    const keys = await Promise.all(list.map((k) => openpgp.readKey({ armoredKey: k.armoredPublic })));
    const bytes = Buffer.concat(keys.map((k) => Buffer.from(k.write())));
    return openpgp.armor(openpgp.enums.armor.publicKey, new Uint8Array(bytes));
  }

  /** Whether gpg accepts the signature with the keyring served at `keysPath` (false when there is none). */
  async function verifiesWith(m: RunningMirror, keysPath: string, file: Buffer, signature: string): Promise<boolean> {
    const keys = await m.get(keysPath);
    if (keys.status !== 200) return false;
    return (await gpgVerify(await keys.text(), file, signature).catch(() => ({ ok: false }))).ok;
  }

  /** The served file and its org `.asc`, checked with gpg against the primary and the unverified keyrings. */
  async function orgSignature(m: RunningMirror, path: string): Promise<{ primary: boolean; unverified: boolean }> {
    const file = Buffer.from(await (await m.get(path)).arrayBuffer());
    const asc = await m.get(`${path}.asc`);
    assert.equal(asc.status, 200, `${path}.asc should be served`);
    const signature = await asc.text();
    return {
      primary: await verifiesWith(m, '/-/keys/openpgp.asc', file, signature),
      unverified: await verifiesWith(m, '/-/keys/openpgp-unverified.asc', file, signature),
    };
  }

  before(async () => {
    [upstream, keyA, keyB] = await Promise.all([startFixtureUpstream(), makeUpstreamPgpKey('Upstream A'), makeUpstreamPgpKey('Upstream B')]);
    await publishRaw(upstream, keyA, '/releases/signed-by-a.bin', 'A signed this\n');
    await publishRaw(upstream, keyB, '/releases/signed-by-b.bin', 'B signed this\n');
    upstream.setFile('/releases/unsigned.bin', 'nobody signed this\n');
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    for (const d of dirs) await removeDir(d);
  });

  test('warn → require: an unverified file cached under warn is refused, not served from the cache', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repo({ verify: 'warn' }), [keyA]);
    const warned = await m.get('/files/unsigned.bin');
    assert.equal(warned.status, 200);
    assert.match(warned.headers.get('x-countersign-verification') ?? '', /^unverified; mode=warn/);
    // Under warn it is signed, but by the unverified key only: the primary key never vouches for it.
    assert.deepEqual(await orgSignature(m, '/files/unsigned.bin'), { primary: false, unverified: true });
    assert.deepEqual(await orgSignature(m, '/files/signed-by-a.bin'), { primary: true, unverified: false });

    m = await restart(dataDir, repo({ verify: 'require' }));
    const refused = await m.get('/files/unsigned.bin');
    assert.equal(refused.status, 502);
    assert.equal(((await refused.json()) as { code: string }).code, 'VERIFICATION_FAILED');
    assert.equal((await m.get('/files/unsigned.bin.asc')).status, 502);
    // Positive control: the verified file, cached under warn, is re-verified from what is stored and org-signed.
    const before = upstream.requests('/releases/signed-by-a.bin');
    assert.deepEqual(await orgSignature(m, '/files/signed-by-a.bin'), { primary: true, unverified: false });
    assert.equal(upstream.requests('/releases/signed-by-a.bin'), before, 're-verified from the stored bytes, not refetched');
  });

  test('a key removed from trust.keyring stops vouching at once, before the TTL', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repo(), [keyA, keyB]);
    assert.equal((await m.get('/files/signed-by-b.bin')).status, 200);
    assert.equal((await m.get('/files/signed-by-a.bin')).status, 200);

    m = await restart(dataDir, repo(), [keyA]);
    const refused = await m.get('/files/signed-by-b.bin');
    assert.equal(refused.status, 502, 'signed only by the removed key');
    assert.equal((await m.get('/files/signed-by-b.bin.asc')).status, 502);
    m.advanceClock(TTL_MS + 1);
    assert.equal((await m.get('/files/signed-by-b.bin')).status, 502, 'still refused after the TTL');
    assert.deepEqual(await orgSignature(m, '/files/signed-by-a.bin'), { primary: true, unverified: false });

    // Adding the key back takes effect just as well.
    m = await restart(dataDir, repo(), [keyA, keyB]);
    assert.deepEqual(await orgSignature(m, '/files/signed-by-b.bin'), { primary: true, unverified: false });
  });

  test('offline, a trust change is applied from the signature material kept with each file', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repo(), [keyA, keyB]);
    assert.equal((await m.get('/files/signed-by-a.bin')).status, 200);
    assert.equal((await m.get('/files/signed-by-b.bin')).status, 200);

    await m.close();
    await writeFile(join(dataDir, 'keyring.asc'), await oneKeyring([keyA]));
    m = mirror = await startMirror({ dataDir, offline: true, repositories: [repo()] });
    const refused = await m.get('/files/signed-by-b.bin');
    assert.notEqual(refused.status, 200, 'signed only by the removed key: not served, even offline');
    assert.notEqual((await m.get('/files/signed-by-b.bin.asc')).status, 200);
    // Positive control: re-verified from the kept upstream .asc without the upstream, and org-signed.
    const kept = await m.get('/files/signed-by-a.bin');
    assert.equal(kept.status, 200);
    assert.equal(await kept.text(), 'A signed this\n');
    assert.deepEqual(await orgSignature(m, '/files/signed-by-a.bin'), { primary: true, unverified: false });
  });

  test('a new upstream under the same repository name re-verifies what the old one served', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repo(), [keyA]);
    assert.equal((await m.get('/files/signed-by-a.bin')).status, 200);

    // The new upstream has neither the file nor its signature: the copy from the old upstream proves nothing about it.
    m = await restart(dataDir, repo({ upstream: `${upstream.url}/elsewhere` }));
    const res = await m.get('/files/signed-by-a.bin');
    assert.notEqual(res.status, 200);
    assert.equal((await m.get('/files/signed-by-a.bin.asc')).status === 200, false);

    // Positive control: a new upstream that serves the same signed file is accepted.
    await publishRaw(upstream, keyA, '/mirror2/signed-by-a.bin', 'A signed this\n');
    m = await restart(dataDir, repo({ upstream: `${upstream.url}/mirror2` }));
    assert.deepEqual(await orgSignature(m, '/files/signed-by-a.bin'), { primary: true, unverified: false });
  });

  test('checksum files from the upstream are no anchor: require needs a keyring or anchor: first-use', async () => {
    const dataDir = await newDataDir();
    await assert.rejects(
      restart(dataDir, repo({ trust: { checksums: 'sha256' } })),
      (err: Error) => /trust\.keyring/.test(err.message) && /first-use/.test(err.message),
    );
    mirror = undefined;

    // warn with checksums only: served, but the org signature is the unverified key's.
    let m = await restart(dataDir, repo({ verify: 'warn', trust: { checksums: 'sha256' } }));
    assert.deepEqual(await orgSignature(m, '/files/signed-by-a.bin'), { primary: false, unverified: true });

    // first-use: the first checksum is pinned; the file is org-signed by the primary key...
    m = await restart(dataDir, repo({ anchor: 'first-use', trust: { checksums: 'sha256' } }));
    const first = await m.get('/files/signed-by-a.bin');
    assert.equal(first.status, 200);
    assert.match(first.headers.get('x-countersign-verification') ?? '', /anchor=first-use/);
    assert.deepEqual(await orgSignature(m, '/files/signed-by-a.bin'), { primary: true, unverified: false });

    // ...and a file the upstream changes (with a matching checksum beside it) is refused: the pinned one stays served.
    await publishRaw(upstream, keyA, '/releases/signed-by-a.bin', 'A changed this\n');
    m.advanceClock(TTL_MS + 1);
    const changed = await m.get('/files/signed-by-a.bin');
    assert.equal(changed.headers.get('x-countersign-stale'), 'verification-failed');
    assert.equal(await changed.text(), 'A signed this\n');
    await publishRaw(upstream, keyA, '/releases/signed-by-a.bin', 'A signed this\n');
  });

  test('first-use: pinning one more file changes no trust epoch (a restart serves what verified as a hit); an accepted change does', async () => {
    const dataDir = await newDataDir();
    const firstUse = repo({ anchor: 'first-use', trust: { checksums: 'sha256' } });
    let m = await restart(dataDir, firstUse);
    assert.equal((await m.get('/files/signed-by-a.bin')).status, 200);
    assert.equal((await m.get('/files/signed-by-b.bin')).status, 200, 'a second file: a second pin');
    m = await restart(dataDir, firstUse);
    const again = await m.get('/files/signed-by-a.bin');
    assert.equal(again.headers.get('x-cache'), 'HIT', 'the pins taken since the last start change nothing verified before');
    assert.deepEqual(await orgSignature(m, '/files/signed-by-a.bin'), { primary: true, unverified: false });
    // The operator accepts a change (as `countersign trust accept` does): everything is verified again.
    await m.close();
    mirror = undefined;
    const index = new SqliteIndexStore(join(dataDir, 'index.sqlite'));
    assert.equal(index.forgetPins('files', 'sha256:signed-by-b.bin'), 1, 'the pin the mirror took for the second file');
    index.close();
    m = await restart(dataDir, firstUse);
    const after = await m.get('/files/signed-by-a.bin');
    assert.equal(after.status, 200);
    assert.notEqual(after.headers.get('x-cache'), 'HIT', 'verified again under the new trust generation');
  });

  test('rotating and revoking the org OpenPGP key take effect at the next request', async () => {
    const dataDir = await newDataDir();
    const m = await restart(dataDir, repo(), [keyA]);
    const first = await (await m.get('/files/signed-by-a.bin.asc')).text();
    await m.app.keys.rotate('openpgp');
    const rotated = await (await m.get('/files/signed-by-a.bin.asc')).text();
    assert.notEqual(rotated, first, 'a new signature by the new key');
    assert.deepEqual(await orgSignature(m, '/files/signed-by-a.bin'), { primary: true, unverified: false });
    await m.app.keys.revoke('openpgp', undefined, 'test: compromised');
    const afterRevoke = await (await m.get('/files/signed-by-a.bin.asc')).text();
    assert.notEqual(afterRevoke, rotated);
    assert.deepEqual(await orgSignature(m, '/files/signed-by-a.bin'), { primary: true, unverified: false });
  });
});
