/**
 * Issue 10: "a 400-byte gzip primary with unclosed <package> elements blocks the event loop ~0.9 s
 * and grows quadratically". The RPM metadata is read by a streaming XML parser: the work (parser
 * events) grows linearly with the input, hostile shapes included, and a document that is not
 * well-formed is refused with the parser's reason. Positive control: a well-formed primary of the
 * same size is read in full.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listedPkgids, primaryPackages, primaryReader } from '../../src/formats/rpm/primary.js';
import { MetadataError } from '../../src/formats/rpm/xml-text.js';

const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm">';
const unclosed = (n: number) => `${HEAD}${'<package type="rpm"><name>x</name>'.repeat(n)}`;
const wellFormed = (n: number) => `${HEAD}${Array.from({ length: n }, (_, i) => `<package type="rpm"><name>p${i}</name><checksum type="sha256" pkgid="YES">${i.toString(16).padStart(64, '0')}</checksum><size package="10"/><location href="Packages/p${i}.rpm"/><format><rpm:header-range start="1" end="2"/></format></package>`).join('')}</metadata>`;

/** Parser events for one text, and whether it was refused as not well-formed. */
function work(text: string): { events: number; error?: unknown } {
  const reader = primaryReader(() => undefined);
  try {
    reader.write(text);
    reader.end();
    return { events: reader.events };
  } catch (error) {
    return { events: reader.events, error };
  }
}

test('unclosed <package> elements: refused as not well-formed, with work linear in the input', () => {
  const n = 5000;
  const small = work(unclosed(n));
  const large = work(unclosed(8 * n));
  for (const r of [small, large]) {
    assert.ok(r.error instanceof MetadataError, String(r.error));
    assert.match((r.error as Error).message, /not well-formed XML: .*unclosed tag: package/);
  }
  assert.ok(small.events >= n, `${small.events} events for ${n} elements`);
  assert.ok(large.events <= 8 * small.events * 1.01, `${large.events} events for 8n against ${small.events} for n`);
});

test('the hostile shape at 1.4 MB is refused in well under two seconds (a quadratic scan takes minutes)', () => {
  // Generous by orders of magnitude: the streaming parser takes ~50 ms here, the regex scan it
  // replaced ~100 s (0.9 s at 400 compressed bytes, ×64 for every 8× of input).
  const text = unclosed(40_000);
  const started = performance.now();
  assert.throws(() => primaryPackages(text), MetadataError);
  const ms = performance.now() - started;
  assert.ok(ms < 2000, `${ms.toFixed(0)} ms for ${text.length} characters`);
});

test('positive control: well-formed primaries of n and 8n packages are read in full, with linear work', () => {
  const n = 500;
  assert.equal(primaryPackages(wellFormed(n)).length, n);
  const small = work(wellFormed(n));
  const large = work(wellFormed(8 * n));
  assert.equal(small.error, undefined);
  assert.ok(large.events <= 8 * small.events * 1.01 && large.events >= 8 * small.events * 0.99, `${large.events} vs ${small.events}`);
});

test('other hostile shapes: stray end tags, unknown entities, a DTD, a second checksum, filelists without pkgid', () => {
  const good = wellFormed(1);
  const cases: [string, string, RegExp][] = [
    ['stray end tag', good.replace('</metadata>', '</package></metadata>'), /not well-formed/],
    ['mismatched end tag inside a package (refused whichever check sees it first)', good.replace('<size', '</name><size'), /not well-formed|lacks/],
    ['unknown entity', good.replace('<name>p0', '<name>&boom;'), /not well-formed/],
    ['DTD', good.replace('<metadata', '<!DOCTYPE m [<!ENTITY a "b">]><metadata'), /DTD/],
    ['second checksum', good.replace('<size', `<checksum type="sha256" pkgid="YES">${'f'.repeat(64)}</checksum><size`), /more than one <checksum>/],
    ['text after the root', `${good}<package/>`, /not well-formed/],
  ];
  for (const [what, text, reason] of cases) assert.throws(() => primaryPackages(text), (e: unknown) => e instanceof MetadataError && reason.test(e.message), what);
  assert.throws(() => listedPkgids('<filelists><package name="x"></package></filelists>', 'filelists.xml'), /without a usable pkgid/);
  assert.throws(() => listedPkgids(`<filelists>${'<package pkgid="x">'.repeat(1000)}`, 'filelists.xml'), MetadataError);
});
