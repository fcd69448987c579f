/** npm: a version's signature binds its packument's name and its own key; the packument's revision; the pinned key set's bytes. */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { test } from 'node:test';
import type { Packument } from '../../src/formats/npm/packument.js';
import { canonicalKeySet } from '../../src/formats/npm/registry-key-source.js';
import { parseRegistryKeys } from '../../src/formats/npm/registry-keys.js';
import { packumentRevision } from '../../src/formats/npm/revision.js';
import { checkVersions } from '../../src/formats/npm/verify-versions.js';

const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const spki = pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const keys = parseRegistryKeys({ keys: [{ keyid: 'SHA256:up', key: spki, expires: null }] }, 'test');

/** A version manifest signed over `${signedName}@${signedVersion}:<integrity>`, as the upstream would. */
function version(name: unknown, v: unknown, signedName = String(name), signedVersion = String(v)) {
  const integrity = `sha512-${createHash('sha512').update(`${signedName}@${signedVersion}`).digest('base64')}`;
  const sig = sign('sha256', Buffer.from(`${signedName}@${signedVersion}:${integrity}`), pair.privateKey).toString('base64');
  return { name, version: v, dist: { integrity, tarball: `http://upstream.example/x/-/x-${String(v)}.tgz`, signatures: [{ keyid: 'SHA256:up', sig }] } };
}

test('a version whose name or version is not exactly where the packument lists it is rejected, with a reason', () => {
  const doc = {
    name: 'bar',
    versions: {
      '1.0.0': version('foo', '1.0.0'), // foo's genuine signature, replayed into bar
      '2.0.0': version('bar', '2.0.0'),
      '3.0.0': version(123, '3.0.0'), // signed over "123@3.0.0:…", which the org must never restate as bar@3.0.0
      '4.0.0': version('bar', '4.0.1'), // signed for another version
      '5.0.0': version('bar', '5.0.0', 'foo'), // right fields, signature over another name
    },
  } as unknown as Packument;
  const r = checkVersions(doc, keys, { vouchForRejected: false });
  assert.deepEqual(r.verified, ['2.0.0']);
  const reasons = Object.fromEntries(r.rejected.map((x) => [x.item, x.reason]));
  assert.match(reasons['1.0.0']!, /names package "foo", not "bar"/);
  assert.match(reasons['3.0.0']!, /names package 123, not "bar"/);
  assert.match(reasons['4.0.0']!, /says it is "4.0.1", not "4.0.0"/);
  assert.match(reasons['5.0.0']!, /does not verify/);
  assert.deepEqual(r.vouches.map((v) => v.path), ['bar/-/x-2.0.0.tgz'], 'only the bound version vouches');
});

test("a packument's revision is its time.modified, when it parses and is not in the future", () => {
  const now = Date.parse('2024-08-10T09:00:00.000Z');
  const at = (modified: unknown) => packumentRevision({ name: 'a', time: { modified } } as unknown as Packument, now);
  assert.deepEqual(at('2024-08-01T00:00:00.000Z'), { value: Date.parse('2024-08-01T00:00:00.000Z'), label: 'time.modified 2024-08-01T00:00:00.000Z' });
  assert.equal(at('not a date'), undefined);
  assert.equal(at(12), undefined);
  assert.equal(at('9999-01-01T00:00:00.000Z'), undefined, 'a far-future time would freeze the package forever');
  assert.equal(packumentRevision({ name: 'a' }, now), undefined);
});

test('the key set pinned on first use does not depend on order or formatting, only on the keys', () => {
  const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const a = { keyid: 'SHA256:a', key: spki, expires: null };
  const b = { keyid: 'SHA256:b', key: other, expires: '2030-01-01T00:00:00.000Z', keytype: 'ecdsa-sha2-nistp256' };
  const one = canonicalKeySet(parseRegistryKeys({ keys: [a, b] }, 't'));
  assert.deepEqual(canonicalKeySet(parseRegistryKeys({ keys: [{ ...b, keytype: undefined }, a] }, 't')), one);
  assert.notDeepEqual(canonicalKeySet(parseRegistryKeys({ keys: [a, { ...b, expires: null }] }, 't')), one);
  assert.notDeepEqual(canonicalKeySet(parseRegistryKeys({ keys: [a, { ...b, key: spki }] }, 't')), one);
});
