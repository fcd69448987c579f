/**
 * The one upstream-client change the Python format needs: a request for an absolute URL (a file
 * on an index's separate files host) is judged like a redirect target. Only an origin in
 * `redirects.allow` is fetched, without the upstream's credentials; anything else is refused
 * before a request leaves.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isMirrorError } from '../../src/errors.js';
import { FsBlobStore } from '../../src/store/fs-blob-store.js';
import { UpstreamClient } from '../../src/upstream/upstream-client.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';

let index: FixtureUpstream;
let files: FixtureUpstream;
let dir: string;
let store: FsBlobStore;

before(async () => {
  [index, files] = await Promise.all([startFixtureUpstream(), startFixtureUpstream()]);
  dir = await mkdtemp(join(tmpdir(), 'countersign-abs-'));
  store = await FsBlobStore.open(join(dir, 'blobs'));
  files.setFile('/packages/demo-1.0.tar.gz', 'sdist bytes');
});

after(async () => {
  await Promise.all([index.stop(), files.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const client = (allow: string[]) => new UpstreamClient({
  baseUrl: `http://user:secret@${index.url.slice('http://'.length)}/`, repository: 'py', retries: 0, redirectOrigins: allow,
});

test('an absolute URL on an allowed origin is fetched without the credentials', async () => {
  const c = client([files.url]);
  try {
    const result = await c.fetch({ path: `${files.url}/packages/demo-1.0.tar.gz`, maxBytes: 1024 }, () => store.createTemp());
    assert.equal(result.kind, 'fetched');
    if (result.kind === 'fetched') await result.body.abort();
    assert.equal(files.log.at(-1)?.headers.authorization, undefined, 'the upstream credentials stay with the upstream');
    // Positive control: the upstream's own origin gets them.
    index.setFile('/simple/demo/', '{}');
    const own = await c.fetch({ path: 'simple/demo/', maxBytes: 1024 }, () => store.createTemp());
    if (own.kind === 'fetched') await own.body.abort();
    assert.match(String(index.log.at(-1)?.headers.authorization), /^Basic /);
  } finally {
    await c.close();
  }
});

test('an absolute URL on any other origin is refused before a request leaves', async () => {
  const c = client([]);
  try {
    files.resetCounts();
    await assert.rejects(c.fetch({ path: `${files.url}/packages/demo-1.0.tar.gz`, maxBytes: 1024 }, () => store.createTemp()), (err: unknown) => {
      assert.ok(isMirrorError(err) && err.code === 'BAD_PATH', String(err));
      assert.ok(!err.message.includes('secret'));
      return true;
    });
    assert.equal(files.requests(), 0);
  } finally {
    await c.close();
  }
});
