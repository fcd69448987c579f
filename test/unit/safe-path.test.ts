import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSafePath } from '../../src/server/safe-path.js';

test('plain paths decode into segments', () => {
  assert.deepEqual(parseSafePath('/raw/a/b%20c.txt?x=1').segments, ['raw', 'a', 'b c.txt']);
  assert.deepEqual(parseSafePath('/').segments, []);
  assert.deepEqual(parseSafePath('/raw/dir/').segments, ['raw', 'dir', '']);
});

for (const [name, url] of [
  ['dot-dot segment', '/raw/../etc/passwd'],
  ['dot segment', '/raw/./a'],
  ['encoded slash', '/raw/a%2fb'],
  ['encoded slash upper', '/raw/a%2Fb'],
  ['encoded backslash', '/raw/a%5cb'],
  ['encoded dot-dot', '/raw/%2e%2e/a'],
  ['encoded NUL', '/raw/a%00b'],
  ['backslash', '/raw/a\\b'],
  ['empty segment', '/raw//a'],
  ['control character', '/raw/a%0ab'],
  ['bad percent-encoding', '/raw/a%zz'],
  ['over-long segment', `/raw/${'a'.repeat(256)}`],
  ['over-long path', `/raw/${'a/'.repeat(2100)}`],
  ['no leading slash', 'raw/a'],
] as const) {
  test(`refuses ${name}`, () => {
    assert.throws(() => parseSafePath(url), (err: Error & { code?: string; status?: number }) => err.code === 'BAD_PATH' && err.status === 400);
  });
}
