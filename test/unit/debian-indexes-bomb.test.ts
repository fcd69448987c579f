/**
 * A Packages index is read streamed and its output is capped by the shared ratio
 * (src/formats/bounded-inflate.ts outputCap): a compression bomb, even one a signed Release lists,
 * stops at ~200× what was read instead of the fixed ceiling.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { vouchesFromIndex } from '../../src/formats/debian/package-indexes.js';

const CEILING = 2 * 1024 ** 3;

test('a gzip bomb is refused at the ratio cap, far below the ceiling', async () => {
  // 256 MiB of newlines compresses to ~250 KB; the ratio cap stops it near 200 × what was read.
  const bomb = gzipSync(Buffer.alloc(256 * 1024 ** 2, 0x0a), { level: 9 });
  let produced = 0;
  const result = await vouchesFromIndex('main/binary-amd64/Packages.gz', () => Readable.from([bomb]), CEILING);
  assert.equal(result.vouches.length, 0);
  const reason = result.problems[0]?.reason ?? '';
  const m = /larger than (\d+) bytes once decompressed \(from (\d+) gzip bytes\)/.exec(reason);
  assert.ok(m, reason);
  produced = Number(m[1]);
  assert.ok(produced <= 200 * bomb.length + 64 * 1024 && produced >= 1024 ** 2, `cap ${produced} for ${bomb.length} compressed bytes`);
});

test('positive control: a real index under the cap yields its vouches', async () => {
  const stanza = (i: number) => `Package: p${i}\nVersion: 1.0\nFilename: pool/main/p/p${i}/p${i}_1.0_all.deb\nSize: ${100 + i}\nSHA256: ${'a'.repeat(64)}\n\n`;
  const text = Array.from({ length: 500 }, (_, i) => stanza(i)).join('');
  const result = await vouchesFromIndex('main/binary-amd64/Packages.gz', () => Readable.from([gzipSync(Buffer.from(text))]), CEILING);
  assert.equal(result.vouches.length, 500);
  assert.deepEqual(result.problems, []);
});
