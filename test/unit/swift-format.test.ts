/**
 * Swift's pure parts against real tools: archives made by `zip` read and rewritten (checked with
 * `unzip -t`), SwiftPM's manifest signature-line grammar, and the upstream cms-1.0.0 verifier
 * against signatures OpenSSL makes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { X509Certificate } from 'node:crypto';
import { verifyCmsSignature } from '../../src/formats/swift/cms-signature.js';
import { appendSignature, splitManifest } from '../../src/formats/swift/manifest-signature.js';
import { parseReleaseList, parseReleaseMetadata, RegistryDocumentError } from '../../src/formats/swift/registry-documents.js';
import { parseRegistryPath } from '../../src/formats/swift/registry-path.js';
import { packageManifests } from '../../src/formats/swift/served-archive.js';
import { entryContent, readZip, ZipFormatError } from '../../src/formats/swift/zip-archive.js';
import { rewriteZip } from '../../src/formats/swift/zip-writer.js';
import { makeSourceArchive } from '../helpers/swift-fixture.js';
import { cmsSign, makeTestPki, type TestPki } from '../helpers/swift-openssl.js';

const run = promisify(execFile);
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function unzipTest(zip: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-unzip-'));
  try {
    await writeFile(join(dir, 'a.zip'), zip);
    return (await run('unzip', ['-t', join(dir, 'a.zip')])).stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('swift: zip archives', () => {
  test('reads what zip made and rewrites one entry deterministically; unzip accepts the result', async () => {
    const { zip } = await makeSourceArchive({ scope: 'mona', name: 'LinkedList', version: '1.0.0', versionedManifests: { 'Package@swift-5.8.swift': '// swift-tools-version:5.8\n' } });
    const archive = readZip(zip);
    const manifests = packageManifests(archive, 'x.zip');
    assert.equal(manifests.prefix, 'LinkedList/');
    assert.deepEqual([...manifests.entries.keys()].sort(), ['Package.swift', 'Package@swift-5.8.swift']);
    const replacement = Buffer.from('// replaced\n');
    const out = rewriteZip(archive, new Map([['LinkedList/Package.swift', replacement]]));
    assert.equal(sha256(out), sha256(rewriteZip(readZip(zip), new Map([['LinkedList/Package.swift', replacement]]))), 'same input, same bytes');
    assert.match(await unzipTest(out), /No errors detected/);
    const again = readZip(out);
    assert.deepEqual(again.entries.map((e) => e.name), archive.entries.map((e) => e.name));
    const entry = again.entries.find((e) => e.name === 'LinkedList/Package.swift')!;
    assert.deepEqual(entryContent(again, entry, 1 << 20), replacement);
    const src = again.entries.find((e) => e.name.endsWith('LinkedList.swift'))!;
    const orig = archive.entries.find((e) => e.name === src.name)!;
    assert.deepEqual(entryContent(again, src, 1 << 20), entryContent(archive, orig, 1 << 20));
    assert.equal(src.dosTime, orig.dosTime);
  });

  test('refuses hostile archives precisely', () => {
    assert.throws(() => readZip(Buffer.from('not a zip at all, just some words')), ZipFormatError);
    assert.throws(() => readZip(Buffer.alloc(10)), /too short/);
  });

  test('refuses a local header that names another file than the directory, and a lying size', async () => {
    const { zip } = await makeSourceArchive({ scope: 'mona', name: 'Evil', version: '1.0.0' });
    const archive = readZip(zip);
    const first = archive.entries[0]!;
    const renamed = Buffer.from(zip);
    // The local name starts 30 bytes into the local header, which ends where the data starts minus the name.
    const localName = first.dataOffset - Buffer.byteLength(first.name);
    renamed[localName] = 'X'.charCodeAt(0);
    assert.throws(() => readZip(renamed), /local header names/);
    const manifest = archive.entries.find((e) => e.name.endsWith('Package.swift'))!;
    assert.throws(() => entryContent(archive, { ...manifest, uncompressedSize: 10 }, 1 << 20), ZipFormatError);
    assert.throws(() => entryContent(archive, manifest, 5), /more than the 5 allowed/);
  });
});

describe('swift: hostile archives (fast-check)', () => {
  test('any mutation of a real archive is read, or refused with a ZipFormatError: never another exception', async () => {
    const { zip } = await makeSourceArchive({ scope: 'mona', name: 'Fuzz', version: '1.0.0' });
    fc.assert(fc.property(
      fc.array(fc.record({ at: fc.nat({ max: zip.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
      fc.nat({ max: zip.length }),
      (edits, cut) => {
        const bytes = Buffer.from(zip.subarray(0, Math.max(cut, zip.length - 64)));
        for (const e of edits) if (e.at < bytes.length) bytes[e.at] = e.value;
        try {
          const archive = readZip(bytes);
          for (const entry of archive.entries) entryContent(archive, entry, 1 << 16);
          packageManifests(archive, 'fuzz.zip');
        } catch (err) {
          if (!(err instanceof ZipFormatError)) throw err;
        }
      },
    ), { numRuns: 400 });
  });

  test('manifests and registry documents: any input parses or is refused with the parser\'s own error', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => {
      const bytes = Buffer.from(text, 'utf8');
      const parts = splitManifest(bytes, 'P');
      if (parts.signed) assert.ok(bytes.subarray(0, parts.content.length).equals(parts.content));
    }), { numRuns: 500 });
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      for (const parse of [parseReleaseMetadata, parseReleaseList]) {
        try {
          parse(Buffer.from(JSON.stringify(value) ?? 'null'), 'x');
        } catch (err) {
          if (!(err instanceof RegistryDocumentError)) throw err;
        }
      }
    }), { numRuns: 500 });
  });

  test('entry names that climb out are refused', async () => {
    const { zip } = await makeSourceArchive({ scope: 'mona', name: 'Ab', version: '1.0.0' });
    // "Ab/" becomes "../" in the local and central names alike (same length).
    const evil = Buffer.from(zip.toString('latin1').split('Ab/').join('../'), 'latin1');
    assert.throws(() => readZip(evil), /"\." or "\.\." segment/);
  });
});

describe('swift: manifest signature lines (SwiftPM ManifestSignatureParser)', () => {
  const m = Buffer.from('// swift-tools-version:5.7\nimport PackageDescription\nlet package = Package(name: "A")\n');

  test('append then split gives back the exact content and signature', () => {
    const signed = appendSignature(m, Buffer.from([1, 2, 3, 250]));
    const parts = splitManifest(signed, 'Package.swift');
    assert.equal(parts.signed, true);
    assert.deepEqual(parts.content, m);
    if (parts.signed) {
      assert.equal(parts.format, 'cms-1.0.0');
      assert.equal(parts.signatureBase64, Buffer.from([1, 2, 3, 250]).toString('base64'));
    }
    // A trailing newline after the signature line changes nothing (the line is the last non-whitespace).
    assert.deepEqual(splitManifest(Buffer.concat([signed, Buffer.from('\n\n')]), 'P').content, m);
  });

  test('lines without the label or format are not signatures', () => {
    assert.equal(splitManifest(m, 'P').signed, false);
    assert.equal(splitManifest(Buffer.from('a\n// note: x;y'), 'P').signed, false);
    assert.equal(splitManifest(Buffer.from('a\n// signature: abc'), 'P').signed, false);
    assert.equal(splitManifest(Buffer.from('// signature: cms-1.0.0;AAAA'), 'P').signed, false, 'a one-line file has no content before a signature');
    // The label runs to the first ":", so "signature " (with its space) is no label, as in SwiftPM.
    assert.equal(splitManifest(Buffer.from('a\n// signature : cms-1.0.0;QUJD'), 'P').signed, false);
    const odd = splitManifest(Buffer.from('a\r\n   ///  SIGNATURE:: cms-1.0.0;;QUJD  '), 'P');
    assert.equal(odd.signed, true);
    assert.deepEqual(odd.content, Buffer.from('a'));
  });
});

describe('swift: registry paths', () => {
  test('routes and refusals', () => {
    assert.deepEqual(parseRegistryPath('mona/LinkedList', ''), { kind: 'releases', pkg: { scope: 'mona', name: 'LinkedList' } });
    assert.deepEqual(parseRegistryPath('mona/LinkedList.json', ''), { kind: 'releases', pkg: { scope: 'mona', name: 'LinkedList' } });
    assert.equal(parseRegistryPath('mona/LinkedList/1.1.1', '').kind, 'release');
    assert.equal(parseRegistryPath('mona/LinkedList/1.1.1.json', '').kind, 'release');
    assert.equal(parseRegistryPath('mona/LinkedList/1.1.1.zip', '').kind, 'archive');
    assert.deepEqual(parseRegistryPath('mona/LinkedList/1.1.1/Package.swift', 'swift-version=5.8'),
      { kind: 'manifest', pkg: { scope: 'mona', name: 'LinkedList' }, version: '1.1.1', file: 'Package@swift-5.8.swift' });
    assert.deepEqual(parseRegistryPath('identifiers', 'url=https%3A%2F%2Fgit.example%2Fa.git'), { kind: 'identifiers', url: 'https://git.example/a.git' });
    for (const bad of ['-mona/x', 'mona/a--b/1.0.0', 'mona/x/1.0.0/Other.swift', 'mona/x/..', 'mona/x/1.0.0/Package.swift/extra']) {
      assert.equal(parseRegistryPath(bad, '').kind, 'invalid', bad);
    }
    assert.equal(parseRegistryPath('mona/x/1.0.0/Package.swift', 'swift-version=../../etc').kind, 'invalid');
  });
});

describe('swift: upstream cms-1.0.0 signatures', () => {
  let pki: TestPki;
  let other: TestPki;
  let serverEku: TestPki;
  const content = Buffer.from('the archive bytes');
  before(async () => {
    [pki, other, serverEku] = await Promise.all([makeTestPki('Publisher'), makeTestPki('Stranger'), makeTestPki('Web', { leafEku: 'serverAuth' })]);
  });
  const roots = (p: TestPki): X509Certificate[] => [new X509Certificate(p.rootPem)];

  test('an OpenSSL signature verifies over the content digest, chained to the pinned root', async () => {
    const sig = await cmsSign(pki, content);
    const check = verifyCmsSignature(sig, sha256(content), roots(pki));
    assert.equal(check.ok, true, check.ok ? '' : check.reason);
  });

  test('refused: another root, other content, a leaf without codeSigning, garbage', async () => {
    const sig = await cmsSign(pki, content);
    const untrusted = verifyCmsSignature(sig, sha256(content), roots(other));
    assert.equal(untrusted.ok, false);
    assert.match(untrusted.ok ? '' : untrusted.reason, /does not chain to a root/);
    const wrong = verifyCmsSignature(sig, sha256(Buffer.from('other bytes')), roots(pki));
    assert.match(wrong.ok ? '' : wrong.reason, /does not verify/);
    const web = verifyCmsSignature(await cmsSign(serverEku, content), sha256(content), roots(serverEku));
    assert.match(web.ok ? '' : web.reason, /codeSigning/);
    assert.equal(verifyCmsSignature(Buffer.from('garbage'), sha256(content), roots(pki)).ok, false);
    assert.equal(verifyCmsSignature(Buffer.concat([sig, Buffer.from([0])]), sha256(content), roots(pki)).ok, false);
  });
});
