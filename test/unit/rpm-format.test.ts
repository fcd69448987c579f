/** RPM parsers and the in-place re-signing, against vectors made here (real packages are in the integration test). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { compressionOf, decompress, DecompressError } from '../../src/formats/rpm/decompress.js';
import { derivedTypeOf, isContentAddressed, safeHref, servedMetadataPath } from '../../src/formats/rpm/paths.js';
import { listedPkgids, primaryPackages, rewritePkgids, rewritePrimary, type ResignedPackage } from '../../src/formats/rpm/primary.js';
import { parseRepomd, servedRepomd } from '../../src/formats/rpm/repomd.js';
import { buildHeader, parseHeader, RpmFormatError, TYPE, type HeaderEntry } from '../../src/formats/rpm/rpm-header.js';
import { parseRpm } from '../../src/formats/rpm/rpm-package.js';
import { resignRpm, signatureTag } from '../../src/formats/rpm/rpm-resign.js';
import { MetadataError } from '../../src/formats/rpm/xml-text.js';

const LIMITS = { maxEntries: 64, maxData: 1 << 20 };
const bin = (tag: number, data: Buffer): HeaderEntry => ({ tag, type: TYPE.BIN, count: data.length, data });
const str = (tag: number, s: string): HeaderEntry => ({ tag, type: TYPE.STRING, count: 1, data: Buffer.from(`${s}\0`) });
const int32 = (tag: number, n: number): HeaderEntry => ({ tag, type: TYPE.INT32, count: 1, data: Buffer.from([n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255]) });
/** A v4 signature packet (old-format header) with the given public-key algorithm. */
const packet = (pkAlgo: number, len = 300) => Buffer.concat([Buffer.from([0x89, len >> 8, len & 255, 4, 0, pkAlgo, 10]), Buffer.alloc(len - 4, 7)]);

function synthetic(sigEntries: HeaderEntry[]): Buffer {
  const lead = Buffer.alloc(96);
  lead.writeUInt32BE(0xedabeedb, 0);
  lead[4] = 3;
  lead.writeUInt16BE(5, 78);
  const sig = buildHeader(62, sigEntries);
  const pad = Buffer.alloc((8 - (sig.length % 8)) % 8);
  const main = buildHeader(63, [str(1000, 'demo'), str(1001, '1.0'), int32(1009, 42)]);
  return Buffer.concat([lead, sig, pad, main, Buffer.from('payload bytes')]);
}

test('headers round-trip: region first, entries sorted, aligned, trailer pointing back', () => {
  const built = buildHeader(62, [int32(1000, 7), str(269, 'abc'), bin(267, Buffer.from([1, 2, 3]))]);
  const h = parseHeader(built, 0, 62, LIMITS);
  assert.deepEqual(h.entries.map((e) => e.tag), [267, 269, 1000]);
  assert.equal(h.length, built.length);
  assert.deepEqual(h.entries[2]!.data, int32(1000, 7).data);
  assert.equal(built.readUInt32BE(16 + 3 * 16 + 8) % 4, 0, 'INT32 data is 4-aligned');
});

test('malformed headers are refused with a reason', () => {
  const good = buildHeader(62, [str(269, 'abc'), int32(1000, 1)]);
  const broken = (edit: (b: Buffer) => void) => { const b = Buffer.from(good); edit(b); return b; };
  const cases: [string, Buffer, RegExp][] = [
    ['magic', broken((b) => b.writeUInt32BE(0, 0)), /no header magic/],
    ['too many entries', broken((b) => b.writeUInt32BE(1000, 8)), /entries/],
    ['region tag', broken((b) => b.writeUInt32BE(63, 16)), /region/],
    ['trailer', broken((b) => b.writeInt32BE(-1, b.length - 8)), /trailer/],
    ['offset past store', broken((b) => b.writeInt32BE(4000, 16 + 16 + 8)), /outside/],
    ['overlap', broken((b) => b.writeInt32BE(0, 16 + 32 + 8)), /overlaps|misaligned/],
    ['truncated', good.subarray(0, good.length - 1), /past the end/],
  ];
  for (const [what, bytes, reason] of cases) assert.throws(() => parseHeader(bytes, 0, 62, LIMITS), (e: unknown) => e instanceof RpmFormatError && reason.test(e.message), what);
});

test('re-signing replaces every upstream signature and keeps the size when RESERVEDSPACE allows', () => {
  const original = synthetic([bin(267, packet(22, 100)), str(273, 'f'.repeat(64)), int32(1000, 99), bin(1004, Buffer.alloc(16, 1)), bin(1008, Buffer.alloc(4128))]);
  const pkg = parseRpm(original);
  const resigned = resignRpm(pkg, packet(1, 540));
  assert.equal(resigned.length, original.length);
  const after = parseRpm(resigned);
  assert.deepEqual(after.signature.entries.map((e) => e.tag), [268, 273, 1000, 1004, 1008]);
  assert.equal(after.headerStart, pkg.headerStart);
  assert.deepEqual(resigned.subarray(after.headerStart), original.subarray(pkg.headerStart), 'header and payload untouched');
});

test('without RESERVEDSPACE the signature header grows and stays 8-aligned', () => {
  const original = synthetic([bin(268, packet(1, 100)), bin(1002, Buffer.alloc(70)), int32(1000, 99)]);
  const resigned = parseRpm(resignRpm(parseRpm(original), packet(22, 119)));
  assert.deepEqual(resigned.signature.entries.map((e) => e.tag), [267, 1000]);
  assert.equal(resigned.headerStart % 8, 0);
  assert.equal(resigned.header.entries.length, 3);
});

test('the signature tag follows the packet algorithm (268 RSA, 267 EdDSA/DSA/ECDSA), new and old packet formats', () => {
  assert.equal(signatureTag(packet(1)), 268);
  assert.equal(signatureTag(packet(22)), 267);
  assert.equal(signatureTag(Buffer.from([0xc2, 5, 4, 0, 17, 8, 0])), 267);
  assert.throws(() => signatureTag(Buffer.from([0xc2, 3, 3, 0, 1])), /version 3/);
});

const PRIMARY = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">
<package type="rpm">
  <name>demo &amp; co</name>
  <checksum type="sha256" pkgid="YES">${'a'.repeat(64)}</checksum>
  <size package="6109" installed="6" archive="280"/>
  <location href="Packages/d/demo-1.0-1.noarch.rpm"/>
  <format><rpm:header-range start="4504" end="5993"/></format>
</package>
</metadata>`;
const MAP = new Map<string, ResignedPackage>([['a'.repeat(64), { pkgid: 'a'.repeat(64), path: 'Packages/d/demo-1.0-1.noarch.rpm', sha256: 'b'.repeat(64), size: 6117, headerStart: 4512, headerEnd: 6001 }]]);

test('primary: packages are read, and rewritten to the re-signed checksums, sizes and header ranges', () => {
  assert.deepEqual(primaryPackages(PRIMARY), [{ pkgid: 'a'.repeat(64), algorithm: 'sha256', path: 'Packages/d/demo-1.0-1.noarch.rpm', size: 6109 }]);
  const out = rewritePrimary(PRIMARY, MAP);
  assert.match(out, new RegExp(`<checksum type="sha256" pkgid="YES">${'b'.repeat(64)}</checksum>`));
  assert.match(out, /<size package="6117" installed="6" archive="280"\/>/);
  assert.match(out, /<rpm:header-range start="4512" end="6001"\/>/);
  assert.equal(out.replace(/b{64}/, 'a'.repeat(64)).replace('6117', '6109').replace('4512', '4504').replace('6001', '5993'), PRIMARY, 'nothing else changes');
  const filelists = `<filelists packages="1">\n<package pkgid="${'a'.repeat(64)}" name="demo" arch="noarch">\n</package>\n</filelists>`;
  assert.deepEqual(listedPkgids(filelists, 'filelists'), ['a'.repeat(64)]);
  assert.equal(rewritePkgids(filelists, 'filelists', MAP), filelists.replace('a'.repeat(64), 'b'.repeat(64)));
  assert.throws(() => rewritePkgids(filelists.replace('a'.repeat(64), 'c'.repeat(64)), 'filelists', MAP), /does not/);
});

test('primary: hostile constructs and locations outside the repository are refused', () => {
  assert.throws(() => primaryPackages(PRIMARY.replace('<name>', '<![CDATA[</package>]]><name>')), MetadataError);
  assert.throws(() => primaryPackages(PRIMARY.replace('<metadata', '<!DOCTYPE x [<!ENTITY a "b">]><metadata')), MetadataError);
  assert.throws(() => primaryPackages(PRIMARY.replace('Packages/d/', '../../')), /outside/);
  assert.throws(() => primaryPackages(PRIMARY.replace('<location href', '<location xml:base="http://elsewhere.example/" href')), /xml:base/);
  assert.throws(() => primaryPackages(PRIMARY.replace('type="sha256" pkgid', 'type="md5" pkgid')), /checksum/);
  for (const bad of ['/etc/passwd', 'http://x/y.rpm', 'a/../b.rpm', 'a//b.rpm', 'a\\b.rpm', '']) assert.equal(safeHref(bad), undefined, bad);
});

const REPOMD = `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <revision>1</revision>
  <data type="primary">
    <checksum type="sha256">${'1'.repeat(64)}</checksum>
    <location href="repodata/${'1'.repeat(64)}-primary.xml.xz"/>
    <timestamp>1700000000</timestamp>
    <size>10</size>
  </data>
  <data type="primary_db">
    <checksum type="sha256">${'2'.repeat(64)}</checksum>
    <location href="repodata/x-primary.sqlite.bz2"/>
  </data>
  <data type="updateinfo">
    <checksum type="sha">${'3'.repeat(40)}</checksum>
    <location href="repodata/updateinfo.xml.gz"/>
  </data>
</repomd>`;

test('repomd: roles by type, and the served document', () => {
  const md = parseRepomd(Buffer.from(REPOMD));
  assert.deepEqual(md.entries.map((e) => [e.type, e.role, e.algorithm]), [['primary', 'derived', 'sha256'], ['primary_db', 'dropped', 'sha256'], ['updateinfo', 'kept', 'sha1']]);
  const served = servedRepomd(md, new Map([['primary', { type: 'primary' as const, sha256: 'c'.repeat(64), size: 20, openSha256: 'd'.repeat(64), openSize: 30 }]])).toString();
  assert.doesNotMatch(served, /primary_db|sqlite/);
  assert.match(served, new RegExp(`<location href="repodata/${'1'.repeat(64)}-primary.xml.xz.gz"/>`));
  assert.match(served, /<open-size>30<\/open-size>/);
  assert.ok(served.includes(REPOMD.slice(REPOMD.indexOf('  <data type="updateinfo">'))), 'kept entries are byte-identical');
  assert.throws(() => parseRepomd(Buffer.from(REPOMD.replace('-primary.xml.xz', '-other.xml.xz'))), /not named like a primary/);
  assert.throws(() => parseRepomd(Buffer.from(REPOMD.replace('repodata/updateinfo', '../updateinfo'))), /outside/);
});

test('metadata paths', () => {
  assert.equal(derivedTypeOf('repodata/abc-filelists.xml.zst'), 'filelists');
  assert.equal(derivedTypeOf('repodata/comps.xml'), undefined);
  assert.equal(servedMetadataPath('repodata/x-other.xml.bz2'), 'repodata/x-other.xml.bz2.gz');
  assert.equal(servedMetadataPath('repodata/x-other.xml.gz'), 'repodata/x-other.xml.gz');
  assert.equal(isContentAddressed(`repodata/${'e'.repeat(64)}-primary.xml.gz`), true);
  assert.equal(isContentAddressed('repodata/primary.xml.gz'), false);
});

test('metadata decompresses from gz, xz, zst and bz2 (made by the real tools), with a ceiling', async () => {
  const text = Buffer.from('<metadata>'.repeat(1000));
  const viaCli = (cmd: string, args: string[]) => execFileSync(cmd, args, { input: text });
  const inputs: [string, Buffer][] = [['x.gz', gzipSync(text)], ['x.xz', viaCli('xz', ['-c'])], ['x.zst', viaCli('zstd', ['-q', '-c'])], ['x.bz2', viaCli('bzip2', ['-c'])], ['x.xml', text]];
  for (const [name, bytes] of inputs) {
    assert.deepEqual(await decompress(bytes, compressionOf(name), 1 << 20), text, name);
    await assert.rejects(decompress(bytes, compressionOf(name), 100), DecompressError, `${name} ceiling`);
  }
  await assert.rejects(decompress(Buffer.from('not xz at all'), 'xz', 1 << 20), DecompressError);
});
