/** The core's memory of upstream misses (notFoundTtl), by the repository's clock. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotFoundCache } from '../../src/core/not-found-cache.js';

test('a miss is remembered for the TTL, then forgotten; a TTL of 0 remembers nothing', () => {
  let now = 1_000;
  const cache = new NotFoundCache(500, () => now);
  cache.remember('a/b.pom', 404);
  assert.equal(cache.recent('a/b.pom'), 404);
  assert.equal(cache.recent('a/c.pom'), undefined);
  now += 499;
  assert.equal(cache.recent('a/b.pom'), 404);
  now += 1;
  assert.equal(cache.recent('a/b.pom'), undefined);
  cache.remember('a/b.pom', 410);
  cache.forget('a/b.pom');
  assert.equal(cache.recent('a/b.pom'), undefined);

  const off = new NotFoundCache(0, () => now);
  off.remember('x', 404);
  assert.equal(off.recent('x'), undefined);
});
