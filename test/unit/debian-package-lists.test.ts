/** Lazy vouching's bookkeeping (src/formats/debian/package-lists.ts): which variant a list is read from, which lists a pool file requires. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromRelease, type Generation } from '../../src/formats/debian/generation.js';
import { indexOfPackageList, listEntry, packageListVouch, POOL_REQUIRES, readsListLazily } from '../../src/formats/debian/package-lists.js';
import { parseDebianPath } from '../../src/formats/debian/paths.js';
import { parseRelease } from '../../src/formats/debian/release-file.js';

const hex = (c: string) => c.repeat(64);

function generation(suite: string, sha256: string, byHash: boolean, files: [string, string][]): Generation {
  const text = [
    'Date: Sat, 11 Jul 2026 10:16:37 UTC',
    ...(byHash ? ['Acquire-By-Hash: yes'] : []),
    'SHA256:',
    ...files.map(([digest, name]) => ` ${digest} 100 ${name}`),
  ].join('\n');
  const parsed = parseRelease(text);
  assert.ok(parsed.ok);
  return fromRelease(suite, sha256, parsed.release);
}

const FILES: [string, string][] = [
  [hex('a'), 'main/binary-amd64/Packages'],
  [hex('b'), 'main/binary-amd64/Packages.gz'],
  [hex('c'), 'main/binary-amd64/Packages.xz'],
  [hex('d'), 'main/i18n/Translation-en.xz'],
  [hex('e'), 'contrib/binary-amd64/Packages.xz'],
];

test('a package list is read from the .gz variant the Release lists, by its hash, else from the file itself', () => {
  const g = generation('stable', hex('1'), true, FILES);
  const xz = g.release.entries.get('main/binary-amd64/Packages.xz')!;
  assert.equal(listEntry(g, xz).name, 'main/binary-amd64/Packages.gz');
  assert.equal(listEntry(g, g.release.entries.get('main/binary-amd64/Packages')!).name, 'main/binary-amd64/Packages.gz');
  const contrib = g.release.entries.get('contrib/binary-amd64/Packages.xz')!;
  assert.equal(listEntry(g, contrib), contrib, 'no .gz listed: the xz itself');
  const vouch = packageListVouch(g, xz);
  const ref = POOL_REQUIRES.ref(vouch.path);
  assert.equal(ref.path, `dists/stable/main/binary-amd64/by-hash/SHA256/${hex('b')}#packages`);
  assert.equal(ref.upstreamPath, `dists/stable/main/binary-amd64/by-hash/SHA256/${hex('b')}`);
  assert.equal(ref.namedBySha256, hex('b'));
  assert.deepEqual(packageListVouch(g, xz), { path: ref.path, algorithm: 'sha256', digest: hex('b'), size: 100 });
  assert.equal(indexOfPackageList(ref.path), `dists/stable/main/binary-amd64/by-hash/SHA256/${hex('b')}`);
  assert.equal(indexOfPackageList('pool/main/h/hello/hello_1.0_all.deb'), undefined);
});

test('pool files require every package list vouched for (marked #packages), never index files that list no packages', () => {
  const g = generation('stable', hex('1'), true, FILES);
  assert.equal(POOL_REQUIRES.mark, '#packages');
  assert.equal(readsListLazily(g, g.release.entries.get('main/binary-amd64/Packages.xz')!), true);
  assert.equal(readsListLazily(g, g.release.entries.get('main/i18n/Translation-en.xz')!), false, 'a Translation lists no packages');
});

test('an upstream without by-hash files gets no lazy lists (its index may change under its name)', () => {
  const g = generation('legacy', hex('1'), false, FILES);
  assert.equal(readsListLazily(g, g.release.entries.get('main/binary-amd64/Packages.xz')!), false);
});

test('no request path names a package list', () => {
  assert.equal(parseDebianPath(`dists/stable/main/binary-amd64/by-hash/SHA256/${hex('b')}#packages`).kind, 'invalid');
  assert.equal(parseDebianPath('dists/stable/main/binary-amd64/Packages.gz#packages').kind, 'invalid');
});
