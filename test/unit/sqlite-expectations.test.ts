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
    index.putExpectations([e('r', 'old.tgz', 'old', 'e1'), e('r', 'legacy.tgz', 'legacy'), e('r', 'new.tgz', 'new', 'e2'), e('other', 'x.tgz', 'x', 'e1')]);
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
