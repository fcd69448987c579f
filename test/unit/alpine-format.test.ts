/** Alpine parsers: gzip member boundaries, the cut signature tar, APKINDEX records, signature choice. */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { checkApkSignature, signatureMember } from '../../src/formats/alpine/apk-signature.js';
import { parseApkIndex, pkginfoDatahash, rewriteSizes } from '../../src/formats/alpine/apkindex.js';
import { GzipError, GzipTooLargeError, readMember } from '../../src/formats/alpine/gzip-members.js';
import { cutTarEntry, readTar, replaceTarEntry } from '../../src/formats/alpine/tar.js';

test('gzip members are split at their exact byte boundaries, whatever header fields they carry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-gz-'));
  writeFileSync(join(dir, 'named.txt'), 'first member, with a file name in its header\n');
  const a = execFileSync('gzip', ['-9', '-c', '-N', join(dir, 'named.txt')]); // FNAME and mtime set
  rmSync(dir, { recursive: true, force: true });
  assert.equal(a[3]! & 8, 8, 'FNAME flag');
  const b = gzipSync(Buffer.from('second member'));
  const both = Buffer.concat([a, b]);
  const first = await readMember(both, 0, 1 << 20);
  assert.equal(first.end, a.length);
  const second = await readMember(both, first.end, 1 << 20);
  assert.deepEqual([second.end, second.content.toString()], [both.length, 'second member']);
  await assert.rejects(() => readMember(both.subarray(0, a.length - 3), 0, 1 << 20), GzipError);
  await assert.rejects(async () => readMember(Buffer.from('plain text, not gzip'), 0, 1 << 20), GzipError);
  await assert.rejects(() => readMember(gzipSync(Buffer.alloc(4096)), 0, 100), GzipTooLargeError);
});

test('the cut signature tar is a valid ustar entry without end blocks', () => {
  const entry = cutTarEntry('.SIGN.RSA256.org-1.rsa.pub', Buffer.alloc(512, 9));
  assert.equal(entry.length, 1024);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : entry[i]!;
  assert.equal(parseInt(entry.subarray(148, 155).toString(), 8), sum, 'header checksum');
  const listed = execFileSync('tar', ['-t', '-f', '-'], { input: Buffer.concat([entry, Buffer.alloc(1024)]) }).toString();
  assert.equal(listed.trim(), '.SIGN.RSA256.org-1.rsa.pub');
  assert.deepEqual(readTar(entry).map((f) => [f.name, f.data.length]), [['.SIGN.RSA256.org-1.rsa.pub', 512]]);
  assert.throws(() => readTar(entry.subarray(0, 700)), /past the end/);
});

test('APKINDEX records give file names and control SHA-1s; unsafe names are refused', () => {
  const sha1 = createHash('sha1').update('control').digest();
  const text = `C:Q1${sha1.toString('base64')}\nP:musl\nV:1.2.5-r0\nA:x86_64\nS:1\n\nC:Q1${sha1.toString('base64')}\nP:zlib\nV:1.3-r2\n\n`;
  assert.deepEqual(parseApkIndex(text), [
    { fileName: 'musl-1.2.5-r0.apk', controlSha1: sha1.toString('hex') },
    { fileName: 'zlib-1.3-r2.apk', controlSha1: sha1.toString('hex') },
  ]);
  assert.throws(() => parseApkIndex(`C:Q1${sha1.toString('base64')}\nP:../etc\nV:1\n`), /does not serve/);
  assert.throws(() => parseApkIndex('P:x\nV:1\n'), /lacks/);
  assert.throws(() => parseApkIndex('C:Q2abc\nP:x\nV:1\n'), /not Q1/);
  assert.equal(pkginfoDatahash(`pkgname = x\ndatahash = ${'A'.repeat(64)}\n`), 'a'.repeat(64));
  assert.equal(pkginfoDatahash('pkgname = x\n'), undefined);
});

test('apk signature choice: the first entry with a trusted key decides', async () => {
  const trusted = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signed = Buffer.from('control member bytes');
  const keys = new Map([['trusted.rsa.pub', trusted.publicKey]]);
  const good = { name: '.SIGN.RSA.trusted.rsa.pub', data: sign('sha1', signed, trusted.privateKey) };
  const unknown = { name: '.SIGN.RSA256.unknown.rsa.pub', data: sign('sha256', signed, other.privateKey) };
  assert.deepEqual(checkApkSignature([unknown, good], signed, keys), { ok: true, by: 'apk-rsa:trusted.rsa.pub' });
  assert.match((checkApkSignature([unknown], signed, keys) as { reason: string }).reason, /none of them a trusted key/);
  const forged = { name: '.SIGN.RSA256.trusted.rsa.pub', data: sign('sha256', signed, other.privateKey) };
  assert.equal(checkApkSignature([forged, good], signed, keys).ok, false, 'a bad first trusted signature is not rescued by a later one');
  assert.equal(checkApkSignature([], signed, keys).ok, false);
  const member = signatureMember('org.rsa.pub', Buffer.alloc(256, 1));
  assert.deepEqual(readTar((await readMember(member, 0, 1 << 20)).content).map((f) => f.name), ['.SIGN.RSA256.org.rsa.pub']);
  assert.deepEqual(member, signatureMember('org.rsa.pub', Buffer.alloc(256, 1)), 'deterministic');
});

test('S: lines become the served sizes; every other byte of the APKINDEX is kept', () => {
  const text = 'C:Q1a\nP:musl\nV:1.2.5-r0\nA:x86_64\nS:1000\nI:2\n\nC:Q1b\nP:zlib\nV:1.3-r2\nT:no size\n\n';
  const sizes: Record<string, number> = { 'musl-1.2.5-r0.apk': 1234, 'zlib-1.3-r2.apk': 77 };
  assert.equal(rewriteSizes(text, (f) => sizes[f]!), 'C:Q1a\nP:musl\nV:1.2.5-r0\nA:x86_64\nS:1234\nI:2\n\nC:Q1b\nP:zlib\nV:1.3-r2\nS:77\nT:no size\n\n');
  assert.equal(rewriteSizes(text, (f) => (f.startsWith('musl') ? 1000 : 5)).split('\n')[4], 'S:1000', 'an exact size is left as it was');
});

test('replacing the APKINDEX tar entry keeps the other entries and headers; GNU tar reads the result', () => {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-tar-'));
  try {
    writeFileSync(join(dir, 'DESCRIPTION'), 'v3.20.3');
    writeFileSync(join(dir, 'APKINDEX'), 'P:a\nV:1\nS:1\n');
    const tar = execFileSync('tar', ['-c', '--format=ustar', '--mtime=@1700000000', '-f', '-', 'DESCRIPTION', 'APKINDEX'], { cwd: dir });
    const replaced = replaceTarEntry(tar, 'APKINDEX', Buffer.from('P:a\nV:1\nS:123456\n'));
    assert.deepEqual(readTar(replaced).map((f) => [f.name, f.data.toString(), f.mtime]), [['DESCRIPTION', 'v3.20.3', 1700000000], ['APKINDEX', 'P:a\nV:1\nS:123456\n', 1700000000]]);
    assert.deepEqual(replaced.subarray(0, 1024), tar.subarray(0, 1024), 'DESCRIPTION untouched');
    assert.equal(execFileSync('tar', ['-x', '-O', '-f', '-', 'APKINDEX'], { input: replaced }).toString(), 'P:a\nV:1\nS:123456\n', 'a valid checksum and size');
    assert.throws(() => replaceTarEntry(tar, 'MISSING', Buffer.alloc(1)), /holds no MISSING/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
