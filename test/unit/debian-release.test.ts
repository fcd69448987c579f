/** Debian Release handling: apt's clearsigned split, the Release parser, dates, and the served Release. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as openpgp from 'openpgp';
import { splitClearSigned } from '../../src/formats/debian/clearsigned.js';
import { parseReleaseDate, formatReleaseDate } from '../../src/formats/debian/release-date.js';
import { parseRelease, type ParsedRelease } from '../../src/formats/debian/release-file.js';
import { verifyInRelease } from '../../src/formats/debian/release-signature.js';
import { servedReleaseText, servedValidUntil } from '../../src/formats/debian/served-release.js';

const SHA256_A = 'a'.repeat(64);
const SHA512_B = 'b'.repeat(128);
const RELEASE = [
  'Origin: Debian',
  'Suite: stable',
  'Codename: bookworm',
  'Date: Sat, 11 Jul 2026 10:16:37 UTC',
  'Valid-Until: Sat, 18 Jul 2026 10:16:37 UTC',
  'Signed-By: 0000000000000000000000000000000000000000',
  'MD5Sum:',
  ` ${'c'.repeat(32)}  100 main/binary-amd64/Packages`,
  ` ${'d'.repeat(32)}   50 main/binary-amd64/md5only`,
  'SHA256:',
  ` ${SHA256_A}  100 main/binary-amd64/Packages`,
  ` ${'e'.repeat(64)}   10 ../../etc/passwd`,
  'SHA512:',
  ` ${SHA512_B}  100 main/binary-amd64/Packages`,
].join('\n');

function parsed(text = RELEASE): ParsedRelease {
  const r = parseRelease(text);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.release;
}

test('clearsigned files are split exactly as apt splits them', () => {
  const file = [
    '-----BEGIN PGP SIGNED MESSAGE-----', 'Hash: SHA256', '', 'Origin: X   ', '- -dash escaped', 'Last: line', '-----BEGIN PGP SIGNATURE-----', '', 'AAAA', '-----END PGP SIGNATURE-----', '',
  ].join('\n');
  const r = splitClearSigned(Buffer.from(file));
  assert.ok(r.ok);
  assert.equal(r.value.text, 'Origin: X\n-dash escaped\nLast: line');
  assert.deepEqual(r.value.hashHeaders, ['SHA256']);
  assert.equal(r.value.signatureBlocks.length, 1);

  const refused: [string, RegExp][] = [
    [`garbage\n${file}`, /does not start with/],
    [file.replace('Hash: SHA256', 'Comment: hi'), /not allowed/],
    [file.replace('- -dash escaped', '-not escaped'), /not dash-escaped/],
    [`${file}unsigned trailer\n`, /unsigned lines after the signature/],
    [file.replace('-----END PGP SIGNATURE-----', ''), /never ends/],
    [file.split('-----BEGIN PGP SIGNATURE-----')[0]!, /no signature follows/],
  ];
  for (const [text, reason] of refused) {
    const bad = splitClearSigned(Buffer.from(text));
    assert.equal(bad.ok, false, text);
    assert.match(bad.ok ? '' : bad.reason, reason);
  }
  assert.equal(splitClearSigned(Buffer.from([0x2d, 0xff, 0xfe])).ok, false, 'invalid UTF-8');
});

test('InRelease verification: only the trusted key, only the text apt would use', async () => {
  const make = async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'Archive' }], format: 'object' });
    return { privateKey, publicKey };
  };
  const [trusted, other] = await Promise.all([make(), make()]);
  const text = 'Origin: X\nDate: Sat, 11 Jul 2026 10:16:37 UTC';
  const signed = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: trusted.privateKey, format: 'armored' });
  const keyring = { keys: [trusted.publicKey], fingerprints: [trusted.publicKey.getFingerprint().toUpperCase()] };
  const ok = await verifyInRelease(keyring, Buffer.from(signed));
  assert.ok(ok.ok);
  assert.equal(ok.text, text);
  assert.deepEqual(ok.by, [trusted.publicKey.getFingerprint().toUpperCase()]);

  const wrong = await verifyInRelease({ keys: [other.publicKey], fingerprints: [] }, Buffer.from(signed));
  assert.equal(wrong.ok, false);
  const altered = await verifyInRelease(keyring, Buffer.from(signed.replace('Origin: X', 'Origin: Y')));
  assert.equal(altered.ok, false);
  const prefixed = await verifyInRelease(keyring, Buffer.from(`Origin: Evil\n${signed}`));
  assert.equal(prefixed.ok, false, 'text outside the signed message is never accepted');
});

test('Release files: strong hashes only, hostile paths left out, strict fields', () => {
  const r = parsed();
  assert.deepEqual([...r.entries.keys()], ['main/binary-amd64/Packages']);
  const entry = r.entries.get('main/binary-amd64/Packages')!;
  assert.equal(entry.size, 100);
  assert.deepEqual(entry.strongest, { algorithm: 'sha512', byHash: 'SHA512', digest: SHA512_B });
  assert.equal(entry.hashes.sha256, SHA256_A);
  assert.deepEqual(r.skipped.map((s) => s.item).sort(), ['../../etc/passwd', 'main/binary-amd64/md5only']);
  assert.equal(r.date?.toISOString(), '2026-07-11T10:16:37.000Z');
  assert.equal(r.acquireByHash, false);

  const bad: [string, RegExp][] = [
    ['Origin: a\nOrigin: b\nSHA256:\n x 1 y', /appears twice/],
    ['Origin: a\n\nOrigin: b', /second paragraph/],
    [`MD5Sum:\n ${'c'.repeat(32)} 1 Packages`, /no file with a SHA256 or SHA512/],
    [`Date: yesterday\nSHA256:\n ${SHA256_A} 1 Packages`, /unreadable Date/],
    [' continuation first', /continuation line/],
  ];
  for (const [text, reason] of bad) {
    const result = parseRelease(text);
    assert.equal(result.ok, false, text);
    assert.match(result.ok ? '' : result.reason, reason);
  }
  const sizes = parsed(`SHA256:\n ${SHA256_A} 100 Packages\n ${SHA256_A} 5 Other\nSHA512:\n ${SHA512_B} 101 Packages\n`);
  assert.deepEqual([...sizes.entries.keys()], ['Other'], 'hash lists that disagree about the size leave the file out');
});

test('Release dates: RFC 1123 as apt reads them, nothing else', () => {
  assert.equal(parseReleaseDate('Sat, 11 Jul 2026 10:16:37 UTC')?.toISOString(), '2026-07-11T10:16:37.000Z');
  assert.equal(parseReleaseDate('Sun, 22 Nov 2026 08:57:29 +0000')?.toISOString(), '2026-11-22T08:57:29.000Z');
  assert.equal(parseReleaseDate('Sun, 22 Nov 2026 10:57:29 +0200')?.toISOString(), '2026-11-22T08:57:29.000Z');
  assert.equal(parseReleaseDate('22 Nov 2026 08:57:29 GMT')?.toISOString(), '2026-11-22T08:57:29.000Z');
  for (const bad of ['2026-11-22', 'Sun, 22 Foo 2026 08:57:29 UTC', 'Sun, 22 Nov 2026 25:00:00 UTC', 'tomorrow']) assert.equal(parseReleaseDate(bad), undefined, bad);
  assert.equal(formatReleaseDate(new Date('2026-07-11T10:16:37Z')), 'Sat, 11 Jul 2026 10:16:37 UTC');
});

test('the served Release: same text, by-hash on, upstream Signed-By dropped, only served files, Valid-Until never past the upstream\'s', () => {
  const r = parsed();
  const verifiedAt = Date.parse('2026-07-12T00:00:00Z');
  const text = servedReleaseText(r, { verifiedAt });
  assert.doesNotMatch(text, /Signed-By/);
  assert.match(text, /^Date: Sat, 11 Jul 2026 10:16:37 UTC\nAcquire-By-Hash: yes\nValid-Until: Sat, 18 Jul 2026 10:16:37 UTC$/m);
  assert.doesNotMatch(text, /md5only|etc\/passwd/);
  assert.match(text, new RegExp(` ${SHA256_A}  100 main/binary-amd64/Packages`));
  assert.ok(parseRelease(text).ok);

  // validFor counts from the Release's Date and never lengthens the upstream's Valid-Until (freeze
  // protection): the served one is the earlier of the two, whenever the mirror confirms it.
  const long = servedReleaseText(r, { verifiedAt, validForMs: 30 * 86_400_000 });
  assert.match(long, /^Valid-Until: Sat, 18 Jul 2026 10:16:37 UTC$/m, 'never later than the upstream\'s');
  assert.equal(servedValidUntil(r, 30 * 86_400_000)?.toISOString(), '2026-07-18T10:16:37.000Z');
  const later = servedReleaseText(r, { verifiedAt: Date.parse('2026-07-17T12:00:00Z'), validForMs: 30 * 86_400_000 });
  assert.match(later, /^Valid-Until: Sat, 18 Jul 2026 10:16:37 UTC$/m, 'confirming it later does not move it');
  assert.match(later, /^Date: Sat, 11 Jul 2026 10:16:37 UTC$/m, 'the Date stays the upstream\'s');
  const shorter = servedReleaseText(r, { verifiedAt, validForMs: 3_600_000 });
  assert.match(shorter, /^Valid-Until: Sat, 11 Jul 2026 11:16:37 UTC$/m, 'validFor may shorten the upstream\'s');
  const noValid = servedReleaseText(parsed(RELEASE.replace(/^Valid-Until.*\n/m, '')), { verifiedAt, validForMs: 86_400_000 });
  assert.match(noValid, /^Valid-Until: Sun, 12 Jul 2026 10:16:37 UTC$/m, 'Date + validFor when the upstream sets none');
  assert.equal(servedValidUntil(parsed(RELEASE.replace(/^Valid-Until.*\n/m, '')), undefined), undefined);

  // A Date ahead of the mirror's clock is served as the time the mirror verified it (apt refuses future Dates).
  const early = servedReleaseText(r, { verifiedAt: Date.parse('2026-07-11T09:00:00.500Z') });
  assert.match(early, /^Date: Sat, 11 Jul 2026 09:00:00 UTC$/m);
});
