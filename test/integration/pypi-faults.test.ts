/**
 * The fault campaign of issue 10 (test/helpers/fault-matrix.ts) for Python: a project page (the
 * JSON view) and cold files behind the real mirror, the fixture index broken in each way. The
 * trust faults that need an upstream signature do not apply: a Python index has none.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { startFixtureUpstream } from '../helpers/fixture-upstream.js';
import { formatTable, MATRIX_TIMEOUTS, runMatrix, violations, type Target } from '../helpers/fault-matrix.js';
import { removeDir, startMirror } from '../helpers/mirror-harness.js';
import { PypiFixture } from '../helpers/pypi-fixture.js';

const TTL_MS = 60_000;
const ACCEPT = 'application/vnd.pypi.simple.v1+json';

test('fault matrix: pypi', { timeout: 120_000 }, async () => {
  const upstream = await startFixtureUpstream();
  const index = new PypiFixture(upstream);
  const mirror = await startMirror({
    repositories: [{ name: 'py', format: 'pypi', upstream: upstream.url, verify: 'require', anchor: 'first-use', metadataTtl: `${TTL_MS}ms`, retries: 0, timeouts: MATRIX_TIMEOUTS }],
  });
  let n = 0;
  const publish = (project: string, version: string, bytes: Buffer) => {
    const filename = `${project.replace(/-/g, '_')}-${version}-py3-none-any.whl`;
    return index.publish(project, version, { filename, bytes, metadata: Buffer.from(`Metadata-Version: 2.1\nName: ${project}\nVersion: ${version}\n`) });
  };
  const pagePath = '/py/simple/cs-index/';
  const warmPage = async (): Promise<Target> => {
    const res = await mirror.get(pagePath, { headers: { accept: ACCEPT } });
    const good = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`pypi page warm-up: ${res.status} ${good.toString().slice(0, 200)}`);
    return { path: pagePath, upstream: ['/simple/cs-index/'], good, accept: ACCEPT };
  };
  publish('cs-index', `0.${n++}`, Buffer.alloc(1024, n));
  try {
    const row = await runMatrix({
      format: 'pypi',
      mirror,
      upstream,
      ttlMs: TTL_MS,
      async cold() {
        const good = Buffer.alloc(64 * 1024, n);
        const file = publish('cs-cold', `1.${n++}`, good);
        // The page that vouches for the new file is fetched first, as pip does.
        mirror.advanceClock(TTL_MS + 1_000);
        const page = await mirror.get('/py/simple/cs-cold/', { headers: { accept: ACCEPT } });
        assert.equal(page.status, 200);
        const url = ((await page.json()) as { files: { filename: string; url: string }[] }).files.find((f) => f.filename === file.filename)!.url;
        assert.equal(createHash('sha256').update(good).digest('hex'), file.sha256);
        return { path: url.slice(mirror.url.length), upstream: [file.path], good };
      },
      warmIndex: warmPage,
      breakIndex: {
        'malformed index': async () => {
          upstream.setHandler('/simple/cs-index/', (_req, res) => {
            res.writeHead(200, { 'content-type': ACCEPT });
            res.end('{"meta": {"api-version": "1.1"}, "name": "cs-index", "files": [{"filename": ');
          });
        },
      },
      async staticIndex() {
        upstream.setHandler('/simple/cs-index/', undefined);
        upstream.setFile('/simple/cs-index/', JSON.stringify(index.pageJson('cs-index')), { contentType: ACCEPT });
      },
      async repairIndex() {
        // A new release is a new page revision (and serial); publish also restores the page handler.
        publish('cs-index', `0.${n++}`, Buffer.alloc(1024, n));
      },
    });
    console.log(formatTable(new Map([['pypi', row]])));
    assert.deepEqual(violations(row), []);
  } finally {
    await mirror.close();
    await upstream.stop();
    await removeDir(mirror.dataDir);
  }
});
