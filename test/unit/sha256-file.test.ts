import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSha256File } from '../../src/formats/raw/sha256-file.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

test('bare digest', () => assert.equal(parseSha256File(`${A}\n`, 'x.tar'), A));
test('sha256sum line for the file', () => assert.equal(parseSha256File(`${A}  x.tar\n`, 'x.tar'), A));
test('binary-mode marker and directory prefix', () => assert.equal(parseSha256File(`${A} *dist/x.tar`, 'x.tar'), A));
test('picks the line of the file among several', () => assert.equal(parseSha256File(`${A}  y.tar\n${B}  x.tar\n`, 'x.tar'), B));
test('uppercase hex is normalised', () => assert.equal(parseSha256File(A.toUpperCase(), 'x'), A));
test('a line for another file is not accepted', () => assert.equal(parseSha256File(`${A}  y.tar`, 'x.tar'), undefined));
test('garbage is refused', () => assert.equal(parseSha256File('<html>not found</html>', 'x.tar'), undefined));
test('a short digest is refused', () => assert.equal(parseSha256File('abc123  x.tar', 'x.tar'), undefined));
