/** listen.workers: a number is taken as given; `auto` is one per core, at most 8 (a worker is a whole node process). */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { workerCount } from '../../src/server/cluster.js';

test('auto is one worker per core, at most 8; a number is taken as given', () => {
  assert.equal(workerCount('auto'), Math.min(availableParallelism(), 8));
  assert.equal(workerCount(1), 1);
  assert.equal(workerCount(12), 12, 'an operator may ask for more than auto gives');
});
