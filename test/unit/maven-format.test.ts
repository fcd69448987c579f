/** Pure parts of format: maven and its warm input: paths, version lists, checksum sidecars, ranges. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { dependencyListEntries, pathsFor, pomDependencies } from '../../src/cli/warm-maven.js';
import { compareVersions, inRange, parseRange } from '../../src/cli/warm-maven-range.js';
import { parseChecksumFile } from '../../src/formats/maven/checksum-file.js';
import { MetadataError, parseMavenMetadata } from '../../src/formats/maven/metadata.js';
import { groupMatches, parseMavenPath } from '../../src/formats/maven/paths.js';

const SUFFIX = '.countersign.asc';

describe('maven paths', () => {
  test('Maven 2 layout: group, mutability, content type, sidecars and signatures', () => {
    const jar = parseMavenPath('org/example/lib/1.0/lib-1.0.jar', SUFFIX);
    assert.deepEqual(jar, { kind: 'file', file: { path: 'org/example/lib/1.0/lib-1.0.jar', kind: 'artifact', group: 'org.example', mutable: false, contentType: 'application/java-archive' } });
    const meta = parseMavenPath('org/example/lib/maven-metadata.xml', SUFFIX);
    assert.equal(meta.kind === 'file' && meta.file.group, 'org.example');
    assert.equal(meta.kind === 'file' && meta.file.mutable, true);
    const snap = parseMavenPath('org/example/lib/1.0-SNAPSHOT/maven-metadata.xml', SUFFIX);
    assert.equal(snap.kind === 'file' && snap.file.group, 'org.example');
    assert.equal(parseMavenPath('org/example/lib/1.0-SNAPSHOT/lib-1.0-SNAPSHOT.jar', SUFFIX).kind === 'file', true);
    const nonUnique = parseMavenPath('org/example/lib/1.0-SNAPSHOT/lib-1.0-SNAPSHOT.jar', SUFFIX);
    assert.equal(nonUnique.kind === 'file' && nonUnique.file.mutable, true);
    const timestamped = parseMavenPath('org/example/lib/1.0-SNAPSHOT/lib-1.0-20260101.120000-1.jar', SUFFIX);
    assert.equal(timestamped.kind === 'file' && timestamped.file.mutable, false);
    assert.equal(parseMavenPath('org/example/lib/1.0/lib-1.0.jar.sha1', SUFFIX).kind, 'checksum');
    assert.equal(parseMavenPath('org/example/lib/1.0/lib-1.0.jar.asc', SUFFIX).kind, 'signature');
    assert.equal(parseMavenPath(`org/example/lib/1.0/lib-1.0.jar${SUFFIX}`, SUFFIX).kind, 'org-signature');
    for (const odd of ['lib-1.0.jar.asc.sha1', 'lib-1.0.jar.asc.asc', `lib-1.0.jar.sha1${SUFFIX}`, 'lib-1.0.jar.sha1.md5']) {
      assert.equal(parseMavenPath(`org/example/lib/1.0/${odd}`, SUFFIX).kind, 'invalid', odd);
    }
  });

  test('Ivy layout of sbt plugins: the organisation is one dotted segment', () => {
    const p = parseMavenPath('org.scala-sbt/sbt-x/scala_2.12/sbt_1.0/0.3/jars/sbt-x.jar', SUFFIX);
    assert.equal(p.kind === 'file' && p.file.group, 'org.scala-sbt');
  });

  test('refuses directory listings, traversal and odd segments', () => {
    for (const bad of ['', 'org/', '../etc/passwd', 'org/./x/1/x.jar', 'org/%2e%2e/x.jar', 'a', 'org//x/1/x.jar', 'org/x/1/.hidden']) {
      assert.equal(parseMavenPath(bad, SUFFIX).kind, 'invalid', bad);
    }
  });

  test('groups match segment-wise', () => {
    assert.ok(groupMatches('org.example.tools', 'org.example'));
    assert.ok(groupMatches('org.example', 'org.example'));
    assert.ok(!groupMatches('org.examples', 'org.example'));
  });

  test('never throws on arbitrary paths', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
      parseMavenPath(s, SUFFIX);
    }));
  });
});

describe('maven-metadata.xml (attacker-controlled)', () => {
  const doc = (inner: string) => Buffer.from(`<?xml version="1.0"?><metadata><groupId>g</groupId><artifactId>a</artifactId><versioning>${inner}</versioning></metadata>`);

  test('reads versions and lastUpdated', () => {
    const m = parseMavenMetadata(doc('<versions><version>1.0</version><version>1.1</version></versions><lastUpdated>20260102030405</lastUpdated>'));
    assert.deepEqual(m.versions, ['1.0', '1.1']);
    assert.equal(m.lastUpdated, Date.UTC(2026, 0, 2, 3, 4, 5));
  });

  test('refuses DOCTYPEs (no entity expansion), other roots, truncation, bad dates, deep nesting, huge input', () => {
    const bad = [
      Buffer.from('<!DOCTYPE metadata [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><metadata>&b;</metadata>'),
      Buffer.from('<project/>'),
      Buffer.from('<metadata><versioning>'),
      doc('<lastUpdated>yesterday</lastUpdated>'),
      Buffer.from(`<metadata>${'<x>'.repeat(40)}${'</x>'.repeat(40)}</metadata>`),
      Buffer.alloc(9 * 1024 * 1024, 0x20),
      Buffer.from('not xml at all'),
    ];
    for (const b of bad) assert.throws(() => parseMavenMetadata(b), MetadataError, b.subarray(0, 40).toString());
  });

  test('only MetadataError escapes, for any input', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => {
      try {
        parseMavenMetadata(Buffer.from(`<metadata>${s}</metadata>`));
      } catch (err) {
        assert.ok(err instanceof MetadataError, String(err));
      }
    }));
  });
});

describe('checksum sidecars', () => {
  test('bare hex, sha1sum output and the BSD form; wrong lengths refused', () => {
    const sha1 = 'a'.repeat(40);
    assert.equal(parseChecksumFile(Buffer.from(sha1), 'sha1'), sha1);
    assert.equal(parseChecksumFile(Buffer.from(`${sha1.toUpperCase()}  lib-1.0.jar\n`), 'sha1'), sha1);
    assert.equal(parseChecksumFile(Buffer.from(`SHA1 (lib-1.0.jar) = ${sha1}`), 'sha1'), sha1);
    assert.equal(parseChecksumFile(Buffer.from('a'.repeat(32)), 'sha1'), undefined);
    assert.equal(parseChecksumFile(Buffer.from('<html>'), 'md5'), undefined);
    assert.equal(parseChecksumFile(Buffer.alloc(10_000, 0x61), 'sha1'), undefined);
  });
});

describe('warm input', () => {
  test('pom.xml dependencies with properties; dependency:list lines', () => {
    const pom = `<project><version>3</version><properties><lib.version>1.1</lib.version></properties>
      <dependencies>
        <dependency><groupId>org.example</groupId><artifactId>lib</artifactId><version>\${lib.version}</version></dependency>
        <dependency><groupId>org.example</groupId><artifactId>range</artifactId><version>[1.0,2.0)</version></dependency>
        <dependency><groupId>org.example</groupId><artifactId>self</artifactId><version>\${project.version}</version><classifier>tests</classifier></dependency>
        <dependency><groupId>org.example</groupId><artifactId>unset</artifactId><version>\${nope}</version></dependency>
      </dependencies></project>`;
    assert.deepEqual(pomDependencies(pom).map((c) => `${c.artifactId}:${c.version}:${c.classifier ?? ''}`), ['lib:1.1:', 'range:[1.0,2.0):', 'self:3:tests']);
    const list = dependencyListEntries([
      '[INFO] The following files have been resolved:',
      '[INFO]    org.example:lib:jar:1.1:compile -- module lib',
      '[INFO]    org.example:lib:jar:tests:1.1:test',
      '[INFO]    not:a:dependency',
    ].join('\n'));
    assert.deepEqual(list.map((c) => `${c.artifactId}:${c.classifier ?? ''}:${c.version}`), ['lib::1.1', 'lib:tests:1.1']);
    assert.ok(pathsFor(list).includes('org/example/lib/1.1/lib-1.1-tests.jar.sha1'));
    assert.ok(pathsFor([{ groupId: 'g', artifactId: 'a', version: '[1,2)', type: 'jar' }]).includes('g/a/maven-metadata.xml'));
  });

  test('version ranges', () => {
    const r = parseRange('[1.0,2.0)')!;
    assert.ok(inRange('1.0', r) && inRange('1.10', r) && !inRange('2.0', r) && !inRange('0.9', r));
    assert.ok(inRange('3.5', parseRange('[1,2),[3,4)')!));
    assert.ok(inRange('1.2', parseRange('[1.2]')!) && !inRange('1.3', parseRange('[1.2]')!));
    assert.ok(inRange('0.1', parseRange('(,1.0]')!));
    assert.equal(parseRange('1.0'), undefined);
    assert.ok(compareVersions('1.0-beta', '1.0') < 0);
  });
});
