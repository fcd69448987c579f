/** Debian indexes and apt sources: what Packages/Sources vouch for, decompression, sources parsing, `upstream: auto`. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseDeb822Sources, parseOneLineSources, pickSource } from '../../src/formats/debian/apt-sources.js';
import { aptConfiguredArchive } from '../../src/formats/debian/auto-upstream.js';
import { decompressToListed } from '../../src/formats/debian/decompress.js';
import { vouchesFromDiffIndex, vouchesFromIndex } from '../../src/formats/debian/package-indexes.js';
import { parseDebianPath } from '../../src/formats/debian/paths.js';

const H = (c: string) => c.repeat(64);
const PACKAGES = [
  'Package: hello', 'Version: 1.0', 'Filename: pool/main/h/hello/hello_1.0_all.deb', 'Size: 752', `SHA256: ${H('a')}`, 'Description: hi', ' more', '',
  'Package: dup', 'Filename: pool/x.deb', `SHA256: ${H('b')}`, `SHA256: ${H('9')}`, '',
  'Package: escape', 'Filename: ../../etc/passwd', `SHA256: ${H('c')}`, '',
  'Package: weak', 'Filename: pool/weak.deb', 'MD5sum: 0123', '',
  'Package: flat', 'Filename: ./flat_1.0_all.deb', 'Size: 3', `SHA256: ${H('d')}`, '',
  'Package: hello-src', 'Directory: pool/main/h/hello', 'Checksums-Sha256:', ` ${H('e')} 1234 hello_1.0.dsc`, ` ${H('f')} 99 hello_1.0.tar.xz`, ` ${H('0')} 1 ../evil`,
].join('\n');

const open = (bytes: Buffer) => () => Readable.from([bytes]);

test('Packages and Sources vouch for the files they list, and nothing a hostile stanza names', async () => {
  for (const [label, bytes] of [['plain', Buffer.from(PACKAGES)], ['gzip', gzipSync(PACKAGES)], ['xz', execFileSync('xz', ['-c'], { input: PACKAGES })]] as const) {
    const { vouches, problems } = await vouchesFromIndex('Packages', open(bytes), 1024 * 1024);
    assert.deepEqual(vouches, [
      { path: 'pool/main/h/hello/hello_1.0_all.deb', algorithm: 'sha256', digest: H('a'), size: 752 },
      { path: 'flat_1.0_all.deb', algorithm: 'sha256', digest: H('d'), size: 3 },
      { path: 'pool/main/h/hello/hello_1.0.dsc', algorithm: 'sha256', digest: H('e'), size: 1234 },
      { path: 'pool/main/h/hello/hello_1.0.tar.xz', algorithm: 'sha256', digest: H('f'), size: 99 },
    ], label);
    assert.ok(problems.some((p) => /appears twice/.test(p.reason)), label);
    assert.ok(problems.some((p) => p.item === '../../etc/passwd'), label);
    assert.ok(problems.some((p) => p.item === 'pool/weak.deb'), label);
  }
  const bomb = await vouchesFromIndex('Packages.gz', open(gzipSync(Buffer.alloc(2 * 1024 * 1024, 0x41))), 1024 * 1024);
  assert.deepEqual(bomb.vouches, []);
  assert.match(bomb.problems[0]?.reason ?? '', /larger than/);
  const zstd = await vouchesFromIndex('Packages.zst', open(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0])), 1024);
  assert.match(zstd.problems[0]?.reason ?? '', /zstd is not a compression this mirror can read/);
  const corrupt = await vouchesFromIndex('Packages.xz', open(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3])), 1024);
  assert.deepEqual(corrupt.vouches, []);
});

test('a pdiff Index vouches for the patches apt downloads, by name and by-hash', () => {
  const index = [
    `SHA256-Current: ${H('a')} 100`, 'SHA256-History:', ` ${H('b')} 90 2026-11-10-0806.50`,
    'SHA256-Download:', ` ${H('c')} 123 T-2026-11-20-0207.31-F-2026-11-10-0806.50.gz`, ` ${H('d')} 5 ../escape.gz`, ' nonsense',
  ].join('\n');
  const { vouches, problems } = vouchesFromDiffIndex('dists/s/main/binary-amd64/Packages.diff', Buffer.from(index));
  assert.deepEqual(vouches, [
    { path: 'dists/s/main/binary-amd64/Packages.diff/T-2026-11-20-0207.31-F-2026-11-10-0806.50.gz', algorithm: 'sha256', digest: H('c'), size: 123 },
    { path: `dists/s/main/binary-amd64/Packages.diff/by-hash/SHA256/${H('c')}`, algorithm: 'sha256', digest: H('c'), size: 123 },
  ]);
  assert.equal(problems.length, 2);
});

test('an uncompressed index is made from its compressed sibling only when it matches the Release', async () => {
  const text = Buffer.from(PACKAGES);
  const listed = { algorithm: 'sha256' as const, digest: createHash('sha256').update(text).digest('hex'), size: text.length };
  assert.deepEqual(await decompressToListed(gzipSync(text), listed), text);
  assert.deepEqual(await decompressToListed(execFileSync('xz', ['-c'], { input: text }), listed), text);
  await assert.rejects(decompressToListed(gzipSync(Buffer.concat([text, Buffer.from('x')])), listed), /more than/);
  await assert.rejects(decompressToListed(gzipSync(Buffer.from(PACKAGES.replace('hello', 'jello'))), listed), /not [0-9a-f]{64}/);
});

test('request paths of a Debian archive', () => {
  assert.deepEqual(parseDebianPath('dists/bookworm/InRelease'), { kind: 'release', suite: 'bookworm', file: 'InRelease' });
  assert.deepEqual(parseDebianPath('dists/bookworm/main/binary-amd64/Packages.xz'), { kind: 'index', suite: 'bookworm', name: 'main/binary-amd64/Packages.xz' });
  assert.deepEqual(parseDebianPath(`dists/bookworm/main/binary-amd64/by-hash/SHA256/${H('a')}`), { kind: 'by-hash', suite: 'bookworm', dir: 'main/binary-amd64', type: 'SHA256', digest: H('a') });
  assert.deepEqual(parseDebianPath(`dists/bookworm/by-hash/SHA256/${H('a')}`), { kind: 'by-hash', suite: 'bookworm', dir: '', type: 'SHA256', digest: H('a') });
  assert.equal(parseDebianPath('dists/bookworm/main/binary-amd64/by-hash/SHA256/abc').kind, 'invalid');
  assert.equal(parseDebianPath('pool/main/h/hello/hello_1.0_all.deb').kind, 'package');
  assert.equal(parseDebianPath('-/setup').kind, 'setup');
  for (const p of ['', 'dists', 'dists/bookworm', 'pool', 'dists/bookworm/', '-/other']) assert.equal(parseDebianPath(p).kind, 'invalid', p);
});

test('apt sources: one-line and deb822, options, disabled entries, inline keys', () => {
  const oneLine = parseOneLineSources([
    '# comment', 'deb-src http://src.example/debian bookworm main',
    'deb [arch=amd64 signed-by=/usr/share/keyrings/a.gpg,/etc/apt/keyrings/b.asc] http://a.example/debian bookworm main contrib # trailing',
    'deb http://b.example/debian-security bookworm-security main', 'nonsense line',
  ].join('\n'), 'sources.list');
  assert.equal(oneLine.length, 2);
  assert.deepEqual(oneLine[0], { uri: 'http://a.example/debian', suites: ['bookworm'], components: ['main', 'contrib'], signedBy: ['/usr/share/keyrings/a.gpg', '/etc/apt/keyrings/b.asc'], file: 'sources.list' });
  const deb822 = parseDeb822Sources([
    'Types: deb deb-src', 'URIs: http://c.example/debian', 'Suites: bookworm bookworm-updates', 'Components: main', 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg', '',
    '# a disabled one', 'Types: deb', 'URIs: http://d.example/x', 'Suites: x', 'Enabled: no', '',
    'Types: deb', 'URIs: http://e.example/y', 'Suites: y', 'Components: main', 'Signed-By:', ' -----BEGIN PGP PUBLIC KEY BLOCK-----', ' .', ' abc', ' -----END PGP PUBLIC KEY BLOCK-----', '',
  ].join('\n'), 'debian.sources');
  assert.deepEqual(deb822.map((s) => [s.uri, s.suites, s.signedBy]), [
    ['http://c.example/debian', ['bookworm', 'bookworm-updates'], ['/usr/share/keyrings/debian-archive-keyring.gpg']],
    ['http://e.example/y', ['y'], []],
  ]);
  assert.equal(pickSource([...oneLine, ...deb822])?.uri, 'http://a.example/debian');
  assert.equal(pickSource([...oneLine, ...deb822], 'bookworm-security')?.uri, 'http://b.example/debian-security');
  assert.equal(pickSource([...oneLine, ...deb822], 'sid'), undefined);
});

test('upstream: auto takes the archive and the keyring this machine apt uses', async () => {
  const etc = await mkdtemp(join(tmpdir(), 'countersign-apt-etc-'));
  try {
    await mkdir(join(etc, 'sources.list.d'));
    await mkdir(join(etc, 'trusted.gpg.d'));
    await writeFile(join(etc, 'sources.list.d', 'debian.sources'), [
      'Types: deb', 'URIs: http://mirror.example/debian/', 'Suites: bookworm bookworm-updates', 'Components: main', 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg', '',
      'Types: deb', 'URIs: http://mirror.example/debian-security', 'Suites: bookworm-security', 'Components: main', '',
    ].join('\n'));
    await writeFile(join(etc, 'sources.list.d', 'other.list.disabled'), 'deb http://ignored.example/ x main\n');
    await writeFile(join(etc, 'trusted.gpg.d', 'archive.asc'), 'key');
    const env = { COUNTERSIGN_APT_ETC: etc };
    assert.deepEqual(await aptConfiguredArchive(env, { trust: {} }), {
      upstream: 'http://mirror.example/debian',
      trust: { keyring: '/usr/share/keyrings/debian-archive-keyring.gpg', suites: ['bookworm', 'bookworm-updates'], components: ['main'] },
    });
    assert.deepEqual(await aptConfiguredArchive(env, { trust: { autoSuite: 'bookworm-security' } }), {
      upstream: 'http://mirror.example/debian-security',
      trust: { keyring: join(etc, 'trusted.gpg.d', 'archive.asc'), suites: ['bookworm-security'], components: ['main'] },
    });
    assert.equal(await aptConfiguredArchive({ COUNTERSIGN_APT_ETC: join(etc, 'missing') }, { trust: {} }), undefined);
  } finally {
    await rm(etc, { recursive: true, force: true });
  }
});
