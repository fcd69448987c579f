/**
 * `countersign warm` from a Helm Chart.lock: every dependency the repository serves is fetched
 * through the mirror (archive and org `.prov`), after which an offline mirror serves them all,
 * each `.prov` still verifying as Helm verifies it.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { warm } from '../../src/cli/warm.js';
import { chartLockPaths, parseChartLock } from '../../src/cli/warm-helm.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { helmRepo, packageChart, type FixtureChart } from '../helpers/helm-fixture.js';
import { makeChartAuthorKey, verifyLikeHelm, type ChartAuthorKey } from '../helpers/helm-gpg.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

describe('helm: warm from Chart.lock', () => {
  let upstream: FixtureUpstream;
  let author: ChartAuthorKey;
  let mirror: RunningMirror | undefined;
  let dataDir: string;
  let lockDir: string;
  let charts: FixtureChart[];

  before(async () => {
    [upstream, author] = await Promise.all([startFixtureUpstream(), makeChartAuthorKey('Chart Author')]);
    const repo = helmRepo(upstream, '/stable');
    charts = await Promise.all([packageChart('common', '2.2.4'), packageChart('redis', '18.1.0')]);
    await repo.publish(charts[0]!, { signer: author });
    await repo.publish(charts[1]!, { signer: author, url: 'subdir' });
    repo.writeIndex();
    dataDir = await makeDataDir();
    lockDir = await mkdtemp(join(tmpdir(), 'helm-lock-'));
    await writeFile(join(dataDir, 'authors.asc'), author.armoredPublic);
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await author?.close();
    await removeDir(dataDir);
    await removeDir(lockDir);
  });

  const repository = () => ({ name: 'stable', format: 'helm', upstream: `${upstream.url}/stable`, verify: 'require' as const, trust: { keyring: 'authors.asc' } });

  test('parses the dependencies of a Chart.lock', () => {
    const deps = parseChartLock('dependencies:\n- name: common\n  repository: https://charts.upstream.example\n  version: 2.2.4\ndigest: sha256:00\ngenerated: "2026-01-01T00:00:00Z"\n');
    assert.deepEqual(deps, [{ name: 'common', version: '2.2.4', repository: 'https://charts.upstream.example' }]);
    assert.throws(() => parseChartLock('digest: x\n'), /no dependencies/);
  });

  test('warms archives and .prov files, then an offline mirror serves them', async () => {
    mirror = await startMirror({ dataDir, repositories: [repository()] });
    const lock = join(lockDir, 'Chart.lock');
    await writeFile(lock, [
      'dependencies:',
      `- name: common\n  repository: ${upstream.url}/stable\n  version: 2.2.4`,
      `- name: redis\n  repository: ${upstream.url}/stable\n  version: 18.1.0`,
      '- name: from-oci\n  repository: oci://registry.upstream.example/charts\n  version: 1.0.0',
      'digest: sha256:0000000000000000000000000000000000000000000000000000000000000000',
      'generated: "2026-01-01T00:00:00Z"', '',
    ].join('\n'));
    const paths = await chartLockPaths(
      await readFile(lock, 'utf8'), `${mirror.url}/stable/`, async (u) => (await fetch(u)).text(),
    );
    assert.deepEqual(paths, ['index.yaml', 'common-2.2.4.tgz', 'common-2.2.4.tgz.prov', 'charts/redis-18.1.0.tgz', 'charts/redis-18.1.0.tgz.prov']);
    const code = await warm(lock, { mirror: mirror.url, repo: 'stable', concurrency: 2, progress: false });
    assert.equal(code, 0);
    await mirror.close();

    mirror = await startMirror({ dataDir, offline: true, repositories: [repository()] });
    const keys = await (await mirror.get('/-/keys/openpgp.asc')).text();
    assert.equal((await mirror.get('/stable/index.yaml')).status, 200);
    for (const [chart, path] of [[charts[0]!, 'common-2.2.4.tgz'], [charts[1]!, 'charts/redis-18.1.0.tgz']] as const) {
      const res = await mirror.get(`/stable/${path}`);
      assert.equal(res.status, 200, path);
      const bytes = Buffer.from(await res.arrayBuffer());
      const prov = await mirror.get(`/stable/${path}.prov`);
      assert.equal(prov.status, 200);
      assert.ok((await verifyLikeHelm(keys, await prov.text(), bytes, chart.fileName)).ok);
    }
  });

  test('a dependency the repository does not list makes warm fail, naming it', async () => {
    await mirror?.close();
    mirror = await startMirror({ dataDir, repositories: [repository()] });
    const lock = join(lockDir, 'missing', 'Chart.lock');
    await mkdir(join(lockDir, 'missing'), { recursive: true });
    await writeFile(lock, `dependencies:\n- name: absent\n  repository: ${upstream.url}/stable\n  version: 9.9.9\n`);
    const code = await warm(lock, { mirror: mirror.url, repo: 'stable', concurrency: 1, progress: false });
    assert.equal(code, 1);
  });
});
