/** Expectations carry their trust epoch; those of other epochs are pruned, today's kept. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteIndexStore } from '../../src/store/sqlite-index.js';

test('pruneExpectations drops other epochs (and pre-epoch rows) of one repository only', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-index-'));
  const index = new SqliteIndexStore(join(dir, 'index.sqlite'));
  try {
    const e = (repository: string, path: string, source: string, epoch?: string) =>
      ({ repository, path, algorithm: 'sha256' as const, digest: 'a'.repeat(64), source, verified: true, ...(epoch ? { epoch } : {}) });
    for (const x of [e('r', 'old.tgz', 'old', 'e1'), e('r', 'legacy.tgz', 'legacy'), e('r', 'new.tgz', 'new', 'e2'), e('other', 'x.tgz', 'x', 'e1')]) {
      index.recordExpectations(x.repository, x.source, [x], 0);
    }
    assert.equal(index.pruneExpectations('r', 'e2'), 2);
    assert.deepEqual(index.getExpectations('r', 'old.tgz'), []);
    assert.deepEqual(index.getExpectations('r', 'legacy.tgz'), []);
    assert.equal(index.getExpectations('r', 'new.tgz')[0]?.epoch, 'e2');
    assert.equal(index.getExpectations('other', 'x.tgz').length, 1, 'another repository is untouched');
  } finally {
    index.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('recordExpectations: an index revision vouches for what it lists; what it no longer lists ages out; other sources untouched', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-index-'));
  const index = new SqliteIndexStore(join(dir, 'index.sqlite'));
  try {
    const e = (path: string, source: string, digest: string) =>
      ({ repository: 'r', path, algorithm: 'sha256' as const, digest: digest.repeat(64), source, verified: true, epoch: 'e1' });
    const t0 = Date.now();
    index.recordExpectations('r', 'Packages', [e('pool/a_1.deb', 'Packages', 'a'), e('pool/b_1.deb', 'Packages', 'b')], 0);
    index.recordExpectations('r', 'other/Packages', [e('pool/b_1.deb', 'other/Packages', 'b')], 0);
    // The next revision drops b_1 and lists a_2: b_1 still vouches within the grace time...
    index.recordExpectations('r', 'Packages', [e('pool/a_1.deb', 'Packages', 'a'), e('pool/a_2.deb', 'Packages', 'c')], t0 - 1000);
    assert.equal(index.getExpectations('r', 'pool/b_1.deb').length, 2, 'a client still on the previous revision fetches b_1');
    // ...and is forgotten once the grace time is over; what is listed again stays.
    const later = t0 + 3600_000;
    index.recordExpectations('r', 'Packages', [e('pool/a_1.deb', 'Packages', 'a'), e('pool/a_2.deb', 'Packages', 'c')], later);
    assert.deepEqual(index.getExpectations('r', 'pool/b_1.deb').map((x) => x.source), ['other/Packages'], 'only the index that still lists b_1 vouches');
    assert.equal(index.getExpectations('r', 'pool/a_2.deb')[0]?.digest, 'c'.repeat(64));
    assert.equal(index.getExpectations('r', 'pool/a_1.deb').length, 1);
    index.recordExpectations('r', 'other/Packages', [], later);
    assert.deepEqual(index.getExpectations('r', 'pool/b_1.deb'), [], 'an empty revision clears its source');
  } finally {
    index.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('first-use pins: a new pin leaves the trust generation alone; forgetting one (an accepted change) moves it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-index-'));
  const index = new SqliteIndexStore(join(dir, 'index.sqlite'));
  try {
    assert.equal(index.trustGeneration('r'), 0);
    index.pinFirstUse('r', 'pypi:demo/demo-1.0.tar.gz', 'a'.repeat(64), 1);
    index.pinFirstUse('r', 'pypi:demo/demo-1.1.tar.gz', 'b'.repeat(64), 2);
    assert.equal(index.trustGeneration('r'), 0, 'pinning more files changes nothing verified before');
    assert.equal(index.forgetPins('r', 'absent'), 0);
    assert.equal(index.trustGeneration('r'), 0, 'nothing forgotten, nothing accepted');
    assert.equal(index.forgetPins('r', 'pypi:demo/demo-1.0.tar.gz'), 1);
    assert.equal(index.trustGeneration('r'), 1);
    assert.equal(index.forgetPins('r'), 1);
    assert.equal(index.trustGeneration('r'), 2);
    assert.equal(index.trustGeneration('other'), 0);
  } finally {
    index.close();
    await rm(dir, { recursive: true, force: true });
  }
});
