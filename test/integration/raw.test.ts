/**
 * The scenario matrix of STYLE.md for Raw, against a real fixture upstream that signs its
 * files (OpenPGP .asc + .sha256), with the real mirror on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { publishRaw, sha256 } from '../helpers/raw-fixture.js';
import { makeUpstreamPgpKey, type UpstreamPgpKey } from '../helpers/upstream-openpgp.js';

// Entries expire only when a test advances the mirror's clock past this (mirror.advanceClock), never by
// real time however loaded the machine: a warm request always finds the cold one's entry fresh.
const TTL_MS = 60_000;

describe('raw repository', () => {
  let upstream: FixtureUpstream;
  let key: UpstreamPgpKey;
  let wrongKey: UpstreamPgpKey;
  let mirror: RunningMirror;
  let dataDir: string;

  const repoConfig = (over: Record<string, unknown> = {}) => ({
    name: 'files',
    format: 'raw',
    upstream: `${upstream.url}/releases`,
    verify: 'require' as const,
    trust: { keyring: 'upstream.asc', checksums: 'sha256' as const },
    metadataTtl: `${TTL_MS}ms`,
    retries: 0,
    ...over,
  });

  before(async () => {
    [upstream, key, wrongKey] = await Promise.all([startFixtureUpstream(), makeUpstreamPgpKey(), makeUpstreamPgpKey('Somebody Else')]);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
    mirror = await startMirror({ dataDir, repositories: [repoConfig(), repoConfig({ name: 'small', maxObjectSize: 1024 }), repoConfig({ name: 'lenient', verify: 'warn' })] });
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await removeDir(dataDir);
  });

  const objectCount = () => mirror.app.store.index.referencedBlobs().size;
  const tempFiles = async () => (await readdir(join(dataDir, 'blobs', 'tmp'))).length;

  test('cold miss fetches, verifies and serves the upstream bytes', async () => {
    await publishRaw(upstream, key, '/releases/tool-1.0.tar', 'tool 1.0 contents\n'.repeat(100));
    const res = await mirror.get('/files/tool-1.0.tar');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache'), 'MISS');
    assert.match(res.headers.get('x-countersign-verification') ?? '', new RegExp(`verified; by=.*openpgp:${key.fingerprint}`));
    assert.equal(await res.text(), 'tool 1.0 contents\n'.repeat(100));
    assert.equal(upstream.requests('/releases/tool-1.0.tar'), 1);
    const entry = mirror.app.store.index.getObject('files', 'tool-1.0.tar');
    assert.equal(entry?.verification.status, 'verified');
    assert.deepEqual(entry?.verification.by.sort(), [`openpgp:${key.fingerprint}`, 'sha256-file:tool-1.0.tar.sha256'].sort());
  });

  test('warm hit makes no upstream request', async () => {
    upstream.resetCounts();
    const res = await mirror.get('/files/tool-1.0.tar');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache'), 'HIT');
    await res.arrayBuffer();
    assert.equal(upstream.requests(), 0);
  });

  test('the served .asc is a detached signature the real gpg verifies with the published key', async () => {
    const bytes = Buffer.from(await (await mirror.get('/files/tool-1.0.tar')).arrayBuffer());
    const sigRes = await mirror.get('/files/tool-1.0.tar.asc');
    assert.equal(sigRes.status, 200);
    assert.equal(sigRes.headers.get('content-type'), 'application/pgp-signature');
    const sig = await sigRes.text();
    assert.match(sig, /^-----BEGIN PGP SIGNATURE-----/);
    const keys = await (await mirror.get('/-/keys/openpgp.asc')).text();
    const good = await gpgVerify(keys, bytes, sig);
    assert.ok(good.ok, good.status);
    assert.match(good.status, new RegExp(`VALIDSIG ${mirror.app.keys.openpgpSigner().id}`));
    const bad = await gpgVerify(keys, Buffer.concat([bytes, Buffer.from('x')]), sig);
    assert.equal(bad.ok, false);
    // Made once: a second request returns the same bytes, and the log holds one entry.
    assert.equal(await (await mirror.get('/files/tool-1.0.tar.asc')).text(), sig);
    assert.equal(mirror.app.store.index.signatureLog().filter((e) => e.object === 'tool-1.0.tar').length, 1);
  });

  test('after metadataTtl the mirror revalidates with a conditional request (304)', async () => {
    mirror.advanceClock(TTL_MS + 1);
    upstream.resetCounts();
    const res = await mirror.get('/files/tool-1.0.tar');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache'), 'REVALIDATED');
    await res.arrayBuffer();
    assert.equal(upstream.requests('/releases/tool-1.0.tar'), 1);
    const sent = upstream.log.filter((r) => r.path === '/releases/tool-1.0.tar').at(-1);
    assert.ok(sent?.headers['if-none-match'], 'conditional request carries If-None-Match');
    // A 304 says the bytes are unchanged, not that they still verify: the upstream signature is
    // checked again (it may have been withdrawn, or its key may have expired) before the entry is confirmed.
    assert.equal(upstream.requests('/releases/tool-1.0.tar.asc'), 1, 'a 304 re-runs the verification');
  });

  test('clients get ETag/304, HEAD and byte ranges', async () => {
    const full = await mirror.get('/files/tool-1.0.tar');
    const etag = full.headers.get('etag')!;
    await full.arrayBuffer();
    assert.equal((await mirror.get('/files/tool-1.0.tar', { headers: { 'if-none-match': etag } })).status, 304);
    const head = await mirror.get('/files/tool-1.0.tar', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(18 * 100));
    const range = await mirror.get('/files/tool-1.0.tar', { headers: { range: 'bytes=5-8' } });
    assert.equal(range.status, 206);
    assert.equal(range.headers.get('content-range'), `bytes 5-8/${18 * 100}`);
    assert.equal(await range.text(), '1.0 ');
    assert.equal((await mirror.get('/files/tool-1.0.tar', { headers: { range: 'bytes=99999-' } })).status, 416);
  });

  test('tampered upstream bytes are refused with 502 and nothing is stored', async () => {
    await publishRaw(upstream, key, '/releases/evil.bin', 'genuine bytes');
    upstream.setMode('/releases/evil.bin', 'tamper');
    const before = objectCount();
    const res = await mirror.get('/files/evil.bin');
    assert.equal(res.status, 502);
    const body = (await res.json()) as Record<string, string>;
    assert.equal(body.code, 'DIGEST_MISMATCH');
    assert.equal(body.repository, 'files');
    assert.equal(body.object, 'evil.bin');
    assert.match(body.error ?? "", /does not match/);
    assert.equal(objectCount(), before);
    assert.equal(mirror.app.store.index.getObject('files', 'evil.bin'), undefined);
    assert.equal(await tempFiles(), 0);
    assert.equal((await mirror.get('/files/evil.bin.asc')).status, 502, 'no signature is made over refused bytes');
    upstream.clearModes();
  });

  test('a signature by a key the operator does not trust is refused', async () => {
    await publishRaw(upstream, key, '/releases/other.bin', 'other bytes', { signWith: wrongKey });
    const res = await mirror.get('/files/other.bin');
    assert.equal(res.status, 502);
    const body = (await res.json()) as Record<string, string>;
    assert.equal(body.code, 'VERIFICATION_FAILED');
    assert.match(body.error ?? "", /other\.bin\.asc does not verify/);
    assert.equal(mirror.app.store.index.getObject('files', 'other.bin'), undefined);
  });

  test('a bad signature on a new upstream version is refused and the previous copy is still served', async () => {
    await publishRaw(upstream, key, '/releases/tool-1.0.tar', 'replaced by an attacker', { signWith: wrongKey });
    mirror.advanceClock(TTL_MS + 1);
    const res = await mirror.get('/files/tool-1.0.tar');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-countersign-stale'), 'verification-failed');
    assert.equal(await res.text(), 'tool 1.0 contents\n'.repeat(100));
    assert.equal(mirror.app.store.index.getObject('files', 'tool-1.0.tar')?.sha256, sha256('tool 1.0 contents\n'.repeat(100)));
  });

  test('upstream down: the cached copy is served stale, an uncached object is a clear 502', async () => {
    await publishRaw(upstream, key, '/releases/tool-1.0.tar', 'tool 1.0 contents\n'.repeat(100));
    await upstream.stop();
    try {
      mirror.advanceClock(TTL_MS + 1);
      const res = await mirror.get('/files/tool-1.0.tar');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-countersign-stale'), 'upstream-unavailable');
      assert.equal(await res.text(), 'tool 1.0 contents\n'.repeat(100));
      const miss = await mirror.get('/files/never-fetched.bin');
      assert.equal(miss.status, 502);
      assert.equal(((await miss.json()) as { code: string }).code, 'UPSTREAM_UNAVAILABLE');
    } finally {
      await upstream.restart();
    }
  });

  test('100 concurrent cold requests make exactly one upstream request', async () => {
    await publishRaw(upstream, key, '/releases/popular.bin', Buffer.alloc(256 * 1024, 7));
    upstream.setMode('/releases/popular.bin', { slowMs: 200 });
    upstream.resetCounts();
    const results = await Promise.all(Array.from({ length: 100 }, () => mirror.get('/files/popular.bin').then(async (r) => ({ status: r.status, len: (await r.arrayBuffer()).byteLength }))));
    assert.ok(results.every((r) => r.status === 200 && r.len === 256 * 1024));
    assert.equal(upstream.requests('/releases/popular.bin'), 1);
    assert.equal(upstream.requests('/releases/popular.bin.asc'), 1);
    upstream.clearModes();
  });

  test('an oversized upstream response is cut off and refused', async () => {
    await publishRaw(upstream, key, '/releases/huge.bin', Buffer.alloc(4096, 1));
    const res = await mirror.get('/small/huge.bin');
    assert.equal(res.status, 502);
    assert.equal(((await res.json()) as { code: string }).code, 'UPSTREAM_TOO_LARGE');
    assert.equal(mirror.app.store.index.getObject('small', 'huge.bin'), undefined);
    assert.equal(await tempFiles(), 0);
  });

  test('verify: warn serves (and signs) bytes whose upstream signature is missing, marked unverified', async () => {
    upstream.setFile('/releases/unsigned.txt', 'no signature here');
    const res = await mirror.get('/lenient/unsigned.txt');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('x-countersign-verification') ?? '', /^unverified; mode=warn/);
    const asc = await mirror.get('/lenient/unsigned.txt.asc');
    assert.equal(asc.status, 200);
    // Signed so clients keep working, but by the separately published unverified key only.
    const sig = await asc.text();
    assert.equal((await gpgVerify(await (await mirror.get('/-/keys/openpgp.asc')).text(), Buffer.from('no signature here'), sig)).ok, false);
    assert.equal((await gpgVerify(await (await mirror.get('/-/keys/openpgp-unverified.asc')).text(), Buffer.from('no signature here'), sig)).ok, true);
    assert.equal((await mirror.get('/files/unsigned.txt')).status, 502, 'the same file under verify: require is refused');
  });

  test('hostile paths are refused with 400 before the upstream is asked', async () => {
    upstream.resetCounts();
    for (const path of ['/files/a%2fb', '/files/a%00b', '/files/a%5cb', `/files/${'x'.repeat(300)}`]) {
      const res = await mirror.get(path);
      assert.equal(res.status, 400, path);
      assert.equal(((await res.json()) as { code: string }).code, 'BAD_PATH');
    }
    // fetch() would resolve these dot segments itself; send them as written.
    assert.equal((await rawRequest(mirror.url, '/files/../../etc/passwd')).status, 400);
    assert.equal((await rawRequest(mirror.url, '/files/%2e%2e/%2e%2e/etc/passwd')).status, 400);
    assert.equal((await rawRequest(mirror.url, '/files/.%2E/x')).status, 400);
    assert.equal((await rawRequest(mirror.url, '/files/a\\..\\b')).status, 400);
    assert.equal(upstream.requests(), 0);
  });

  test('unknown repository, missing upstream file and write methods get precise errors', async () => {
    const r1 = await mirror.get('/nosuch/x');
    assert.equal(r1.status, 404);
    assert.equal(((await r1.json()) as { code: string }).code, 'REPOSITORY_NOT_FOUND');
    const r2 = await mirror.get('/files/absent.bin');
    assert.equal(r2.status, 404);
    assert.equal(((await r2.json()) as { code: string }).code, 'UPSTREAM_NOT_FOUND');
    const r3 = await mirror.get('/files/x', { method: 'PUT', body: 'x' });
    assert.equal(r3.status, 405);
  });

  test('key rotation: new signatures use the new key, old signatures still verify', async () => {
    const bytes = Buffer.from(await (await mirror.get('/files/tool-1.0.tar')).arrayBuffer());
    const oldSig = await (await mirror.get('/files/tool-1.0.tar.asc')).text();
    const oldId = mirror.app.keys.openpgpSigner().id;
    await mirror.app.keys.rotate('openpgp');
    const newId = mirror.app.keys.openpgpSigner().id;
    assert.notEqual(newId, oldId);
    const newSig = await (await mirror.get('/files/tool-1.0.tar.asc')).text();
    assert.notEqual(newSig, oldSig);
    const keys = await (await mirror.get('/-/keys/openpgp.asc')).text();
    const vNew = await gpgVerify(keys, bytes, newSig);
    const vOld = await gpgVerify(keys, bytes, oldSig);
    assert.ok(vNew.ok && vNew.status.includes(`VALIDSIG ${newId}`), vNew.status);
    assert.ok(vOld.ok && vOld.status.includes(`VALIDSIG ${oldId}`), vOld.status);
    const list = ((await (await mirror.get('/-/keys')).json()) as { keys: { id: string; status: string }[] }).keys;
    assert.equal(list.find((k) => k.id === oldId)?.status, 'retired');
    assert.equal(list.find((k) => k.id === newId)?.status, 'active');
  });

  test('metrics count cache results, upstream requests and verification failures', async () => {
    const text = await (await mirror.get('/-/metrics')).text();
    assert.match(text, /countersign_cache_results_total\{repository="files",result="hit"\} [1-9]/);
    assert.match(text, /countersign_cache_results_total\{repository="files",result="stale"\} [1-9]/);
    assert.match(text, /countersign_verification_failures_total\{repository="files",code="DIGEST_MISMATCH"\} [1-9]/);
    assert.match(text, /countersign_upstream_requests_total\{repository="files"/);
    assert.match(text, /countersign_http_requests_total\{repository="files",format="raw",status="200"\}/);
    const health = (await (await mirror.get('/-/health')).json()) as { status: string; repositories: unknown[] };
    assert.equal(health.status, 'ok');
    assert.equal(health.repositories.length, 3);
  });
});

describe('raw repository offline', () => {
  test('offline: true serves what is cached and answers a miss with 504 naming the object', async () => {
    const upstream = await startFixtureUpstream();
    const key = await makeUpstreamPgpKey();
    const dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
    const repo = { name: 'files', format: 'raw', upstream: upstream.url, trust: { keyring: 'upstream.asc' }, metadataTtl: '1ms' };
    try {
      await publishRaw(upstream, key, '/a.txt', 'cached before going offline');
      const online = await startMirror({ dataDir, repositories: [repo] });
      assert.equal((await online.get('/files/a.txt')).status, 200);
      await online.close();
      upstream.resetCounts();
      const offline = await startMirror({ dataDir, offline: true, repositories: [repo] });
      try {
        const hit = await offline.get('/files/a.txt');
        assert.equal(hit.status, 200);
        assert.equal(await hit.text(), 'cached before going offline');
        assert.equal((await offline.get('/files/a.txt.asc')).status, 200);
        const miss = await offline.get('/files/b.txt');
        assert.equal(miss.status, 504);
        const body = (await miss.json()) as Record<string, string>;
        assert.equal(body.code, 'OFFLINE_MISS');
        assert.equal(body.object, 'b.txt');
        assert.equal(upstream.requests(), 0);
      } finally {
        await offline.close();
      }
    } finally {
      await upstream.stop();
      await removeDir(dataDir);
    }
  });
});

/** Sends a request line exactly as written (fetch would normalise "..") and reads the status. */
async function rawRequest(base: string, path: string): Promise<{ status: number }> {
  const { port } = new URL(base);
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 0) }));
    socket.on('error', reject);
  });
}
