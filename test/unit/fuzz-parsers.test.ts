/**
 * Fuzzes the parsers that read upstream bytes (issue 10, "Faults"): deb822, the RPM header,
 * apk's tar and gzip members, OCI manifests and npm packuments. Properties: a parser returns
 * or refuses with its own typed error (never a TypeError, RangeError or stack overflow), each
 * call stays far under a hang bound, decompression never exceeds its cap, and parsing a valid
 * document split or mutated never changes what a valid document means.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateRawSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Deb822Error, parseSingleParagraph, ParagraphStream, type Paragraph } from '../../src/formats/debian/deb822.js';
import { buildHeader, parseHeader, RpmFormatError, TYPE, type HeaderEntry } from '../../src/formats/rpm/rpm-header.js';
import { cutTarEntry, readTar, TarError } from '../../src/formats/alpine/tar.js';
import { GzipError, readMember } from '../../src/formats/alpine/gzip-members.js';
import { parseManifest } from '../../src/formats/oci/manifest.js';
import { parsePackument } from '../../src/formats/npm/packument.js';
import { chunked, fuzz, fuzzAsync, mutated, typed, typedAsync, type FuzzStats } from '../helpers/fault-fuzz.js';

// ---------- deb822 ----------

const DEB822_LINES = ['Package: hello', 'Version: 1.0', 'Description: x', ' continued', ' .', '\tTabbed', '', '#comment', 'Bad line', '-X: y', 'A:', ':b', 'Package: again', 'X-\u00e9: v', 'Size: 12\r', ' ', 'Filename: pool/h.deb'];
const deb822Text = fc.array(fc.oneof(fc.constantFrom(...DEB822_LINES), fc.string({ maxLength: 40 })), { maxLength: 60 }).map((lines) => lines.join('\n'));

function flat(paras: Paragraph[]): unknown {
  return paras.map((p) => [...p.entries()].map(([k, f]) => [k, f.name, f.value, f.continuation]));
}

test('deb822: any text parses as one paragraph or is refused with Deb822Error', () => {
  const stats = fuzz(deb822Text, (text, s) => {
    const r = typed(s, [Deb822Error], () => parseSingleParagraph(text));
    if (r) {
      assert.ok(r.paragraph.size > 0);
      for (const [key, field] of r.paragraph) {
        assert.equal(key, field.name.toLowerCase());
        assert.doesNotMatch(key, /[:\s]/, 'a field name never holds a colon or white space');
      }
    }
  });
  report('deb822 single', stats);
});

test('deb822: a stream gives the same paragraphs however the text is split into chunks', () => {
  // maxLineChars well above any generated line: the property is about chunking, not the line cap.
  const stats = fuzz(deb822Text.chain((text) => fc.tuple(fc.constant(text), chunked(text))), ([text, chunks], s) => {
    const whole = new ParagraphStream();
    const once = typed(s, [Deb822Error], () => [...whole.push(text), ...whole.end()]);
    const split = new ParagraphStream();
    const pieces = typed(s, [Deb822Error], () => [...chunks.flatMap((c) => split.push(c)), ...split.end()]);
    assert.ok(once && pieces, 'no line reaches the cap, so neither refuses');
    assert.deepEqual(flat(pieces), flat(once));
    assert.deepEqual(split.errors, whole.errors);
  });
  report('deb822 stream', stats);
});

test('deb822: a line over the cap is refused with Deb822Error, not held', () => {
  const stream = new ParagraphStream({ maxLineChars: 1024 });
  let refused: unknown;
  try {
    for (let i = 0; i < 64; i++) stream.push('Package: '.padEnd(100, 'x'));
  } catch (err) {
    refused = err;
  }
  assert.ok(refused instanceof Deb822Error, 'a 6 KB line without a newline is refused');
  // Positive control: a long but capped line still parses.
  const ok = new ParagraphStream({ maxLineChars: 1024 });
  assert.equal([...ok.push(`Package: ${'x'.repeat(900)}\n\n`), ...ok.end()].length, 1);
});

// ---------- RPM header ----------

const LIMITS = { maxEntries: 256, maxData: 64 * 1024 };
const rpmEntry: fc.Arbitrary<HeaderEntry> = fc.oneof(
  fc.record({ tag: fc.integer({ min: 100, max: 5000 }), n: fc.integer({ min: 1, max: 8 }) }).map(({ tag, n }) => ({ tag, type: TYPE.INT32, count: n, data: Buffer.alloc(4 * n, 7) })),
  fc.record({ tag: fc.integer({ min: 100, max: 5000 }), s: fc.string({ maxLength: 20 }) }).map(({ tag, s }) => ({ tag, type: TYPE.STRING, count: 1, data: Buffer.from(`${s.replace(/\0/g, '')}\0`) })),
  fc.record({ tag: fc.integer({ min: 100, max: 5000 }), a: fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 5 }) }).map(({ tag, a }) => ({ tag, type: TYPE.STRING_ARRAY, count: a.length, data: Buffer.from(a.map((x) => `${x.replace(/\0/g, '')}\0`).join('')) })),
  fc.record({ tag: fc.integer({ min: 100, max: 5000 }), b: fc.uint8Array({ minLength: 1, maxLength: 40 }) }).map(({ tag, b }) => ({ tag, type: TYPE.BIN, count: b.length, data: Buffer.from(b) })),
  fc.record({ tag: fc.integer({ min: 100, max: 5000 }), n: fc.integer({ min: 1, max: 4 }) }).map(({ tag, n }) => ({ tag, type: TYPE.INT64, count: n, data: Buffer.alloc(8 * n, 1) })),
);
const rpmEntries = fc.uniqueArray(rpmEntry, { selector: (e) => e.tag, minLength: 1, maxLength: 12 });
const REGION = 63;

test('RPM header: a built header parses back to the same entries', () => {
  const stats = fuzz(rpmEntries, (entries, s) => {
    const parsed = typed(s, [RpmFormatError], () => parseHeader(buildHeader(REGION, entries), 0, REGION, LIMITS));
    assert.ok(parsed, 'a header the mirror builds is one it parses');
    const want = [...entries].sort((a, b) => a.tag - b.tag).map((e) => [e.tag, e.type, e.count, e.data.toString('hex')]);
    assert.deepEqual(parsed.entries.map((e) => [e.tag, e.type, e.count, e.data.toString('hex')]), want);
  });
  report('rpm roundtrip', stats);
});

test('RPM header: mutated headers parse inside their bounds or are refused with RpmFormatError', () => {
  const arb = rpmEntries.chain((entries) => mutated(buildHeader(REGION, entries)));
  const stats = fuzz(arb, (bytes, s) => {
    const parsed = typed(s, [RpmFormatError], () => parseHeader(bytes, 0, REGION, LIMITS));
    if (parsed) {
      assert.ok(parsed.length <= bytes.length, 'the header lies within the input');
      const total = parsed.entries.reduce((n, e) => n + e.data.length, 0);
      assert.ok(total <= LIMITS.maxData, 'entries never hold more than the data store');
    }
  });
  report('rpm mutated', stats);
});

// ---------- apk tar and gzip ----------

test('apk tar: mutated archives list files inside the input or are refused with TarError', () => {
  const valid = Buffer.concat([cutTarEntry('.SIGN.RSA.key.rsa.pub', Buffer.alloc(300, 1)), cutTarEntry('.PKGINFO', Buffer.from('pkgname = x\n')), Buffer.alloc(1024)]);
  const stats = fuzz(mutated(valid), (bytes, s) => {
    const files = typed(s, [TarError], () => readTar(bytes, { maxFiles: 64 }));
    if (files) {
      assert.ok(files.length <= 64);
      for (const f of files) assert.ok(f.data.length <= bytes.length);
    }
  });
  report('apk tar', stats);
  assert.deepEqual(readTar(valid).map((f) => f.name), ['.SIGN.RSA.key.rsa.pub', '.PKGINFO'], 'positive control');
});

test('apk gzip: mutated members inflate within the cap or are refused with GzipError', async () => {
  const CAP = 64 * 1024;
  const valid = Buffer.concat([gzipSync(Buffer.alloc(5000, 'a')), gzipSync(Buffer.from('second member'))]);
  const stats = await fuzzAsync(mutated(valid), async (bytes, s) => {
    const member = await typedAsync(s, [GzipError], () => readMember(bytes, 0, CAP));
    if (member) {
      assert.ok(member.content.length <= CAP, 'output never exceeds the cap');
      assert.ok(member.end <= bytes.length && member.end > member.start);
    }
  });
  report('apk gzip', stats);
  const first = await readMember(valid, 0, CAP);
  assert.equal((await readMember(valid, first.end, CAP)).content.toString(), 'second member', 'positive control: members split where they end');
});

test('apk gzip: a bomb is refused at the cap (counted in bytes inflated, not time)', async () => {
  const CAP = 1024 * 1024;
  // 64 MiB of zeros deflate to ~64 KB: far over the cap.
  const deflated = deflateRawSync(Buffer.alloc(64 * 1024 * 1024));
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  const bomb = Buffer.concat([header, deflated, Buffer.alloc(8)]);
  await assert.rejects(readMember(bomb, 0, CAP), GzipError);
  assert.equal((await readMember(gzipSync(Buffer.alloc(CAP)), 0, CAP)).content.length, CAP, 'positive control: exactly the cap inflates');
});

// ---------- OCI manifests ----------

const DIGEST = `sha256:${'a'.repeat(64)}`;
const validManifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: DIGEST, size: 2 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: DIGEST, size: 10 }],
  }),
);

test('OCI manifest: any bytes or JSON give a result, never an exception; descriptors are well-formed', () => {
  const json = fc.oneof(fc.json({ depthSize: 'small' }), fc.constant(validManifest.toString()));
  const arb = fc.oneof(json.map((j) => Buffer.from(j)), mutated(validManifest), fc.nat({ max: 50_000 }).map((n) => Buffer.from('['.repeat(n))));
  const stats = fuzz(arb, (bytes, s) => {
    const r = typed(s, [], () => parseManifest(bytes));
    assert.ok(r);
    if (!r.ok) return void s.refused++;
    for (const d of [...r.manifest.manifests, ...r.manifest.blobs]) {
      assert.match(d.sha256, /^[0-9a-f]{64}$/);
      assert.ok(Number.isSafeInteger(d.size) && d.size >= 0, `size ${d.size}`);
    }
  });
  report('oci manifest', stats);
  assert.equal(parseManifest(validManifest).ok, true, 'positive control');
});

// ---------- npm packuments ----------

const validPackument = Buffer.from(JSON.stringify({ name: 'left-pad', 'dist-tags': { latest: '1.0.0' }, versions: { '1.0.0': { name: 'left-pad', version: '1.0.0', dist: {} } }, time: {} }));

test('npm packument: hostile JSON is accepted for its name or refused with a plain Error', () => {
  const docs = fc.oneof(
    fc.json({ depthSize: 'small' }).map((j) => Buffer.from(j)),
    fc.record({ name: fc.constantFrom('left-pad', 'other', 1), versions: fc.jsonValue(), 'dist-tags': fc.jsonValue(), time: fc.jsonValue() }, { requiredKeys: ['name'] }).map((d) => Buffer.from(JSON.stringify(d))),
    mutated(validPackument),
    fc.nat({ max: 50_000 }).map((n) => Buffer.from(`{"name":"left-pad","versions":${'['.repeat(n)}`)),
  );
  const stats = fuzz(docs, (bytes, s) => {
    const p = typed(s, [Error], () => parsePackument(bytes, 'left-pad'));
    if (p) assert.equal(p.name, 'left-pad');
  });
  report('npm packument', stats);
  assert.equal(parsePackument(validPackument, 'left-pad').name, 'left-pad', 'positive control');
});

function report(name: string, stats: FuzzStats): void {
  assert.ok(stats.calls > 0, `${name}: the property ran`);
  console.log(`fuzz ${name}: ${stats.calls} calls, ${stats.refused} refused, slowest ${stats.maxMs.toFixed(1)} ms`);
}
