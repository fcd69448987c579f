/**
 * Issue 10, "Parsers before digests, unbounded decompression", against a fixture upstream built with
 * rpmbuild, createrepo_c and gpg:
 * - a zstd bomb whose digest does not match repomd.xml is refused before anything decompresses it;
 * - a zstd bomb a genuinely signed repomd.xml lists under its real digest is decompressed only up to
 *   its cap (min(1 GiB, max(1 MiB, 200 × its size))), refused with the reason, and nothing is
 *   cached or signed for it;
 * - a primary with unclosed `<package>` elements, listed under its real digest, is refused as not
 *   well-formed.
 * The positive control is the same repository unmodified, served and signed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { inflatedBytes, outputCap } from '../../src/formats/bounded-inflate.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { buildRpmRepo, gpgDetachSign, makeGpgKey, publishRpmRepo, type BuiltRpmRepo, type GpgKey } from '../helpers/rpm-fixture.js';

const REPOMD = 'repodata/repomd.xml';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** 256 MiB of small, valid elements, as zstd makes it (a few KB): the parser would accept every byte. */
const BOMB_TEXT_BYTES = 256 * 1024 * 1024;

function zstdBomb(): Buffer {
  return execFileSync('sh', ['-c', `{ printf '<?xml version="1.0"?>\\n<metadata packages="0">'; yes '<x/>' | head -c ${BOMB_TEXT_BYTES}; } | zstd -q -c`], { maxBuffer: 64 * 1024 * 1024 });
}

/** repomd.xml with its primary entry pointing at `file` (checksum and size of `bytes`). */
function repomdListing(repomd: string, file: string, bytes: Buffer): string {
  const at = repomd.indexOf('<data type="primary">');
  const end = repomd.indexOf('</data>', at);
  const entry = repomd.slice(at, end)
    .replace(/<checksum type="sha256">[0-9a-f]+<\/checksum>/, `<checksum type="sha256">${sha256(bytes)}</checksum>`)
    .replace(/<location href="[^"]+"\/>/, `<location href="${file}"/>`)
    .replace(/<size>\d+<\/size>/, `<size>${bytes.length}</size>`);
  return repomd.slice(0, at) + entry + repomd.slice(end);
}

describe('rpm: hostile metadata is bounded and refused precisely', () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let built: BuiltRpmRepo;
  let mirror: RunningMirror;
  let dataDir: string;
  let bomb: Buffer;

  const repo = (name: string) => ({ name, format: 'rpm', upstream: `${upstream.url}/${name}`, verify: 'require' as const, trust: { keyring: 'upstream.asc' }, retries: 0 });
  const primaryPath = () => [...built.files.keys()].find((p) => p.endsWith('-primary.xml.gz'))!;
  const signatureCount = () => mirror.app.store.index.signatureLog(1_000_000).length;
  /** Publishes the built repository with its primary replaced by `bytes` at `file`, repomd.xml re-signed. */
  const publishWithPrimary = async (name: string, file: string, bytes: Buffer) => {
    publishRpmRepo(upstream, `/${name}`, built);
    upstream.deleteFile(`/${name}/${primaryPath()}`);
    upstream.setFile(`/${name}/${file}`, bytes);
    const repomd = Buffer.from(repomdListing(built.files.get(REPOMD)!.toString('utf8'), file, bytes));
    upstream.setFile(`/${name}/${REPOMD}`, repomd);
    upstream.setFile(`/${name}/${REPOMD}.asc`, await gpgDetachSign(key, repomd));
  };

  before(async () => {
    [upstream, key] = await Promise.all([startFixtureUpstream(), makeGpgKey()]);
    built = await buildRpmRepo({ packages: [{ name: 'hello-mirror' }], packageKey: key });
    bomb = zstdBomb();
    publishRpmRepo(upstream, '/good', built);
    // Digest mismatch: repomd.xml unchanged, the primary it lists replaced by the bomb.
    publishRpmRepo(upstream, '/mismatch', built);
    upstream.setFile(`/mismatch/${primaryPath()}`, bomb);
    await publishWithPrimary('bomb', `repodata/${sha256(bomb)}-primary.xml.zst`, bomb);
    const unclosed = gzipSync(`<?xml version="1.0"?>\n<metadata packages="1000">${'<package type="rpm"><name>x</name>'.repeat(1000)}`);
    await publishWithPrimary('unclosed', `repodata/${sha256(unclosed)}-primary.xml.gz`, unclosed);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
    mirror = await startMirror({ dataDir, repositories: ['good', 'mismatch', 'bomb', 'unclosed'].map(repo) });
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await key?.close();
    if (dataDir) await removeDir(dataDir);
  });

  const refused = async (name: string) => {
    const res = await mirror.get(`/${name}/${REPOMD}`);
    const body = await res.json() as { code: string; error: string };
    assert.equal(res.status, 502, JSON.stringify(body));
    return body;
  };

  test('positive control: the unmodified repository is served and signed', async () => {
    const res = await mirror.get(`/good/${REPOMD}`);
    assert.equal(res.status, 200);
    assert.equal((await mirror.get(`/good/${REPOMD}.asc`)).status, 200);
  });

  test('a bomb whose digest does not match repomd.xml is refused before any byte is decompressed', async () => {
    assert.ok(bomb.length < 64 * 1024, `the bomb is ${bomb.length} bytes`);
    const before = inflatedBytes();
    const body = await refused('mismatch');
    assert.equal(body.code, 'DIGEST_MISMATCH');
    // The other files repomd.xml lists are genuine and fetched beside the primary (companions go six
    // at a time), so they may be read; nothing beyond their own open size was, so no byte of the bomb.
    const genuineOpenSizes = [...built.files.get(REPOMD)!.toString('utf8').matchAll(/<data type="(?:filelists|other)">[\s\S]*?<open-size>(\d+)<\/open-size>/g)]
      .reduce((sum, m) => sum + Number(m[1]), 0);
    assert.ok(inflatedBytes() - before <= genuineOpenSizes, `${inflatedBytes() - before} bytes decompressed; the genuine files hold ${genuineOpenSizes}`);
  });

  test('a bomb listed under its real digest is decompressed only up to its cap, refused, and nothing is cached or signed', async () => {
    const signedBefore = signatureCount();
    const cap = outputCap(bomb.length);
    assert.ok(cap < BOMB_TEXT_BYTES / 16, `cap ${cap}`);
    for (let round = 0; round < 2; round++) {
      const before = inflatedBytes();
      const body = await refused('bomb');
      assert.equal(body.code, 'VERIFICATION_FAILED');
      assert.match(body.error, new RegExp(`decompresses to more than ${cap} bytes`));
      const produced = inflatedBytes() - before;
      assert.ok(produced > cap && produced <= cap + 256 * 1024, `decompressed ${produced} bytes for a cap of ${cap}`);
    }
    assert.equal(signatureCount(), signedBefore, 'nothing signed');
    assert.notEqual((await mirror.get(`/bomb/${REPOMD}.asc`)).status, 200);
  });

  test('a primary with unclosed <package> elements is refused as not well-formed', async () => {
    const body = await refused('unclosed');
    assert.equal(body.code, 'VERIFICATION_FAILED');
    assert.match(body.error, /not well-formed XML: .*unclosed tag: package/);
  });
});
