/**
 * Issue 10, bounded APKINDEX: the index signature is checked over the compressed bytes it covers
 * before anything is inflated, and the index member is inflated streamed (off the event loop) with
 * an output cap. A genuinely signed bomb (600 MiB of tar inflating from ~600 KB, past the 512 MiB
 * the mirror used to inflate synchronously) is therefore stopped by the cap alone; an unsigned one
 * by the signature, before inflating. Bounds are measured by the work done (the process's peak
 * RSS), with a limit a mirror that inflates the bomb exceeds several times over.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createGzip } from 'node:zlib';
import { cutTarEntry } from '../../src/formats/alpine/tar.js';
import { buildApk, buildApkIndex, makeApkKey, signIndexMember, type ApkKey } from '../helpers/apk-fixture.js';
import { verifyApk } from '../helpers/apk-verify.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const MiB = 1024 * 1024;
const BOMB_BYTES = 600 * MiB;
/** Peak RSS growth allowed while the mirror refuses both bombs: the cap is 64 MiB; inflating the bomb takes 512+ MiB. */
const RSS_LIMIT = 200 * MiB;

/** A gzip member of a tar whose APKINDEX entry declares and holds `size` zero bytes, built streamed. */
async function indexBomb(size: number): Promise<Buffer> {
  const header = Buffer.from(cutTarEntry('APKINDEX', Buffer.alloc(0)));
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  header.write('        ', 148, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const zero = Buffer.alloc(MiB);
  const chunks: Buffer[] = [];
  const gzip = createGzip({ level: 9 });
  gzip.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((resolve, reject) => gzip.on('end', resolve).on('error', reject));
  Readable.from((function* () {
    yield header;
    for (let left = size; left > 0; left -= MiB) yield left >= MiB ? zero : zero.subarray(0, left);
  })()).pipe(gzip);
  await done;
  return Buffer.concat(chunks);
}

const peakRss = () => process.resourceUsage().maxRSS * 1024;

describe('alpine: a bounded APKINDEX, signature first', () => {
  let upstream: FixtureUpstream;
  let key: ApkKey;
  let wrongKey: ApkKey;
  let mirror: RunningMirror;
  let dataDir: string;
  let org: { fileName: string; pem: string };
  let bomb: Buffer;

  const at = (dir: string, file: string) => `/alpine/v3.20/${dir}/x86_64/${file}`;

  before(async () => {
    [upstream, key, wrongKey] = await Promise.all([startFixtureUpstream(), makeApkKey('alpine-devel@upstream.example-5f3a.rsa.pub'), makeApkKey('someone@else.example-0000.rsa.pub')]);
    const pkg = await buildApk(key, { name: 'hello-apk' });
    upstream.setFile(at('main', 'APKINDEX.tar.gz'), await buildApkIndex(key, [pkg]));
    upstream.setFile(at('main', pkg.fileName), pkg.bytes);
    bomb = await indexBomb(BOMB_BYTES);
    upstream.setFile(at('bomb', 'APKINDEX.tar.gz'), await signIndexMember(key, bomb));
    upstream.setFile(at('forged', 'APKINDEX.tar.gz'), await signIndexMember(wrongKey, bomb));
    dataDir = await makeDataDir();
    await mkdir(join(dataDir, 'apk-keys'));
    await writeFile(join(dataDir, 'apk-keys', key.fileName), key.publicPem);
    mirror = await startMirror({
      dataDir,
      repositories: [{ name: 'alpine', format: 'alpine', upstream: `${upstream.url}/alpine`, trust: { keys: 'apk-keys' }, retries: 0 }],
    });
    org = mirror.app.keys.rsaPublic();
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await Promise.all([key?.close(), wrongKey?.close()]);
    if (dataDir) await removeDir(dataDir);
  });

  test('a bomb is refused by the signature (unsigned) or the output cap (signed), memory bounded, nothing stored; the mirror keeps serving', async (t) => {
    assert.ok(bomb.length < 2 * MiB, `the bomb is small compressed (${bomb.length} bytes)`);
    // Positive control first: a sound index is served (and warms the code paths before the peak is read).
    const good = await mirror.get(at('main', 'APKINDEX.tar.gz'));
    assert.equal(good.status, 200);
    assert.ok(verifyApk(Buffer.from(await good.arrayBuffer()), { [org.fileName]: org.pem }, 'index').ok);
    const rssBefore = peakRss();

    const forged = await mirror.get(at('forged', 'APKINDEX.tar.gz'));
    assert.equal(forged.status, 502);
    const forgedBody = (await forged.json()) as { code: string; error: string };
    assert.equal(forgedBody.code, 'VERIFICATION_FAILED');
    assert.match(forgedBody.error, /none of them a trusted key/, 'refused by its signature, before inflating');

    const signed = await mirror.get(at('bomb', 'APKINDEX.tar.gz'));
    assert.equal(signed.status, 502);
    const signedBody = (await signed.json()) as { code: string; error: string };
    assert.equal(signedBody.code, 'UPSTREAM_TOO_LARGE', signedBody.error);
    assert.match(signedBody.error, /inflates to more than 67108864 bytes/);

    const growth = peakRss() - rssBefore;
    t.diagnostic(`peak RSS ${Math.round(rssBefore / MiB)} MiB before the bombs, grew by ${Math.round(growth / MiB)} MiB (limit ${RSS_LIMIT / MiB} MiB)`);
    assert.ok(growth < RSS_LIMIT, `peak RSS grew by ${Math.round(growth / MiB)} MiB refusing the bombs`);
    for (const dir of ['bomb', 'forged']) assert.equal(mirror.app.store.index.getObject('alpine', `v3.20/${dir}/x86_64/APKINDEX.tar.gz`), undefined, `${dir}: nothing stored`);
    assert.equal((await readdir(join(dataDir, 'blobs', 'tmp'))).length, 0, 'no temp file left');

    // The mirror stays up and keeps serving.
    assert.equal((await mirror.get(at('main', 'APKINDEX.tar.gz'))).status, 200);
  });
});
