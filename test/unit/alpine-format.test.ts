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
import { parseApkIndex, pkginfoDatahash } from '../../src/formats/alpine/apkindex.js';
import { GzipError, readMember } from '../../src/formats/alpine/gzip-members.js';
import { cutTarEntry, readTar } from '../../src/formats/alpine/tar.js';

test('gzip members are split at their exact byte boundaries, whatever header fields they carry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-gz-'));
  writeFileSync(join(dir, 'named.txt'), 'first member, with a file name in its header\n');
  const a = execFileSync('gzip', ['-9', '-c', '-N', join(dir, 'named.txt')]); // FNAME and mtime set
  rmSync(dir, { recursive: true, force: true });
  assert.equal(a[3]! & 8, 8, 'FNAME flag');
  const b = gzipSync(Buffer.from('second member'));
  const both = Buffer.concat([a, b]);
  const first = readMember(both, 0, 1 << 20);
  assert.equal(first.end, a.length);
  const second = readMember(both, first.end, 1 << 20);
  assert.deepEqual([second.end, second.content.toString()], [both.length, 'second member']);
  assert.throws(() => readMember(both.subarray(0, a.length - 3), 0, 1 << 20), GzipError);
  assert.throws(() => readMember(Buffer.from('plain text, not gzip'), 0, 1 << 20), GzipError);
  assert.throws(() => readMember(gzipSync(Buffer.alloc(4096)), 0, 100), GzipError);
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

test('apk signature choice: the first entry with a trusted key decides', () => {
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
  assert.deepEqual(readTar(readMember(member, 0, 1 << 20).content).map((f) => f.name), ['.SIGN.RSA256.org.rsa.pub']);
  assert.deepEqual(member, signatureMember('org.rsa.pub', Buffer.alloc(256, 1)), 'deterministic');
});
