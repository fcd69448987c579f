/** SingleFlight: one run per key while in flight; a released (failing) flight is not joined again. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SingleFlight } from '../../src/upstream/single-flight.js';

test('callers share a flight; after release, a new caller starts its own while the old one settles', async () => {
  const flights = new SingleFlight<string, string>();
  let runs = 0;
  let finish!: (v: string) => void;
  const first = flights.run('k', () => { runs++; return new Promise<string>((r) => (finish = r)); });
  const joined = flights.run('k', async () => { runs++; return 'never'; });
  await Promise.resolve();
  assert.equal(runs, 1, 'the second caller joined');
  flights.release('k');
  const fresh = flights.run('k', async () => { runs++; return 'fresh'; });
  assert.equal(await fresh, 'fresh');
  assert.equal(runs, 2, 'a caller after release started a new flight');
  finish('old');
  assert.equal(await first, 'old');
  assert.equal(await joined, 'old', 'who joined before the release gets the old result');
  assert.equal(flights.has('k'), false, 'the old flight settling does not leave or clear someone else\'s entry');
});
