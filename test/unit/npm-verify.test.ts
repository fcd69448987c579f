/** npm registry signatures, checked the way pacote checks them, against keys made here. */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { test } from 'node:test';
import { parseIntegrity, ssriString, strongest, versionIntegrity } from '../../src/formats/npm/integrity.js';
import { parsePackument, type Packument } from '../../src/formats/npm/packument.js';
import { parseRegistryKeys } from '../../src/formats/npm/registry-keys.js';
import { checkVersions, tarballFile } from '../../src/formats/npm/verify-versions.js';

const upstream = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const spki = (k: typeof upstream) => k.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const keys = parseRegistryKeys({ keys: [{ keyid: 'SHA256:up', key: spki(upstream), expires: null }, { keyid: 'SHA256:old', key: spki(other), expires: '2020-01-01T00:00:00.000Z' }] }, 'test');

function integrityOf(bytes: string): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

function version(name: string, v: string, signer: typeof upstream | undefined, keyid = 'SHA256:up') {
  const integrity = integrityOf(`${name}@${v}`);
  const sig = signer ? [{ keyid, sig: sign('sha256', Buffer.from(`${name}@${v}:${integrity}`), signer.privateKey).toString('base64') }] : undefined;
  return { name, version: v, dist: { integrity, tarball: `http://upstream.example/${name}/-/${name.split('/').pop()}-${v}.tgz`, ...(sig ? { signatures: sig } : {}) } };
}

test('integrity strings parse like ssri, strongest first', () => {
  const sha1 = `sha1-${Buffer.alloc(20, 1).toString('base64')}`;
  const sha512 = integrityOf('x');
  const tokens = parseIntegrity(`${sha1} ${sha512} bogus`);
  assert.equal(tokens.length, 2);
  assert.equal(ssriString(tokens), `${sha1} ${sha512}`);
  assert.equal(strongest(tokens)?.algorithm, 'sha512');
  assert.equal(versionIntegrity({ shasum: 'ab'.repeat(20) })[0]?.text, `sha1-${Buffer.from('ab'.repeat(20), 'hex').toString('base64')}`);
});

test('every version signed by a trusted key verifies and vouches for its tarball', () => {
  const doc: Packument = { name: '@org/pkg', versions: { '1.0.0': version('@org/pkg', '1.0.0', upstream), '1.1.0': version('@org/pkg', '1.1.0', upstream) } };
  const r = checkVersions(doc, keys, { vouchForRejected: false });
  assert.deepEqual(r.verified, ['1.0.0', '1.1.0']);
  assert.deepEqual(r.rejected, []);
  assert.deepEqual(r.vouches.map((v) => v.path), ['@org/pkg/-/pkg-1.0.0.tgz', '@org/pkg/-/pkg-1.1.0.tgz']);
  assert.equal(r.vouches[0]?.algorithm, 'sha512');
  assert.equal(r.vouches[0]?.digest, createHash('sha512').update('@org/pkg@1.0.0').digest('hex'));
});

test('a wrong key, a missing signature, a tampered integrity and an expired key each reject only that version', () => {
  const tampered = version('p', '4.0.0', upstream);
  tampered.dist.integrity = integrityOf('something else');
  const doc: Packument = {
    name: 'p',
    time: { '5.0.0': '2024-06-01T00:00:00.000Z' },
    versions: {
      '1.0.0': version('p', '1.0.0', upstream),
      '2.0.0': version('p', '2.0.0', other, 'SHA256:up'),
      '3.0.0': version('p', '3.0.0', undefined),
      '4.0.0': tampered,
      '5.0.0': version('p', '5.0.0', other, 'SHA256:old'),
      '6.0.0': version('p', '6.0.0', upstream, 'SHA256:unknown'),
    },
  };
  const r = checkVersions(doc, keys, { vouchForRejected: false });
  assert.deepEqual(r.verified, ['1.0.0']);
  const reasons = Object.fromEntries(r.rejected.map((x) => [x.item, x.reason]));
  assert.match(reasons['2.0.0']!, /does not verify/);
  assert.match(reasons['3.0.0']!, /did not sign/);
  assert.match(reasons['4.0.0']!, /does not verify/);
  assert.match(reasons['5.0.0']!, /expired before the version was published/);
  assert.match(reasons['6.0.0']!, /do not include/);
  assert.equal(r.vouches.length, 1, 'rejected versions vouch for nothing under require');
  assert.equal(checkVersions(doc, keys, { vouchForRejected: true }).vouches.length, 6);
});

test('hostile packuments are refused with a reason', () => {
  assert.throws(() => parsePackument(Buffer.from('{"name":"a","versions":[]}'), 'a'), /"versions" is not an object/);
  assert.throws(() => parsePackument(Buffer.from('not json'), 'a'), /not JSON/);
  assert.throws(() => parsePackument(Buffer.from('{"name":"b"}'), 'a'), /names "b"/);
  assert.equal(tarballFile('http://x/a/-/../../etc/passwd'), undefined);
  assert.equal(tarballFile('http://x/a/-/a-1.0.0.tgz'), 'a-1.0.0.tgz');
  assert.equal(tarballFile('not a url'), undefined);
});
