/** verify-store finds corrupt, missing and partial blobs; --repair evicts them and the mirror refetches. */
import assert from 'node:assert/strict';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../src/store/open-store.js';
import { isClean, verifyStore } from '../../src/store/verify-store.js';
import { startFixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror } from '../helpers/mirror-harness.js';
import { publishRaw, sha256 } from '../helpers/raw-fixture.js';
import { makeUpstreamPgpKey } from '../helpers/upstream-openpgp.js';

test('corrupt, missing and partial blobs are reported, repaired, and fetched again', async () => {
  const upstream = await startFixtureUpstream();
  const key = await makeUpstreamPgpKey();
  const dataDir = await makeDataDir();
  await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
  const repo = { name: 'files', format: 'raw', upstream: upstream.url, trust: { keyring: 'upstream.asc' }, metadataTtl: '1h' };
  try {
    for (const f of ['a', 'b', 'c']) await publishRaw(upstream, key, `/${f}.txt`, `contents of ${f}\n`);
    let mirror = await startMirror({ dataDir, repositories: [repo] });
    for (const f of ['a', 'b', 'c']) assert.equal((await mirror.get(`/files/${f}.txt`)).status, 200);
    assert.equal((await mirror.get('/files/a.txt.asc')).status, 200);
    await mirror.close();

    const blobPath = (sha: string) => join(dataDir, 'blobs', sha.slice(0, 2), sha.slice(2, 4), sha);
    await writeFile(blobPath(sha256('contents of a\n')), 'bit rot');
    await rm(blobPath(sha256('contents of b\n')));
    await writeFile(join(dataDir, 'blobs', 'tmp', 'dead.part'), 'half a download');

    let store = await openStore(dataDir, { keepTemps: true });
    const report = await verifyStore(store, { repair: false });
    assert.deepEqual(report.corrupt, [sha256('contents of a\n')]);
    assert.deepEqual(report.missing, [sha256('contents of b\n')]);
    assert.deepEqual(report.partial, ['dead.part']);
    assert.equal(isClean(report), false);
    await verifyStore(store, { repair: true });
    assert.equal(store.index.getObject('files', 'a.txt'), undefined, 'the entry naming corrupt bytes is evicted');
    await store.close();

    store = await openStore(dataDir, { keepTemps: true });
    assert.equal(isClean(await verifyStore(store, { repair: false })), true);
    await store.close();

    upstream.resetCounts();
    mirror = await startMirror({ dataDir, repositories: [repo] });
    try {
      assert.equal(await (await mirror.get('/files/a.txt')).text(), 'contents of a\n');
      assert.equal(await (await mirror.get('/files/b.txt')).text(), 'contents of b\n');
      assert.equal(upstream.requests('/a.txt'), 1);
      assert.equal(upstream.requests('/c.txt'), 0, 'intact objects are not fetched again');
    } finally {
      await mirror.close();
    }
  } finally {
    await upstream.stop();
    await removeDir(dataDir);
  }
});
