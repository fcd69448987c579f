/**
 * An index whose files live on another host (as the public index keeps them): the operator allows
 * that origin with `redirects.allow`, and the mirror serves the files under
 * `files/<project>/~/<scheme>/<host>/<path>`, checked against the page's hashes and org-signed.
 * Without the allowance the files are refused with the reason, and nothing is fetched from there.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { runPip } from '../helpers/pypi-client.js';
import { buildDists } from '../helpers/pypi-dists.js';
import { PypiFixture, type PublishedFile } from '../helpers/pypi-fixture.js';

const ACCEPT = 'application/vnd.pypi.simple.v1+json';

describe('pypi with a separate files host', () => {
  let upstream: FixtureUpstream;
  let filesHost: FixtureUpstream;
  let mirror: RunningMirror;
  let delta: PublishedFile;
  let work: string;

  before(async () => {
    [upstream, filesHost] = await Promise.all([startFixtureUpstream(), startFixtureUpstream()]);
    const index = new PypiFixture(upstream, filesHost);
    const [d, e] = await Promise.all([
      buildDists({ name: 'cs-delta', version: '1.0', requires: ['cs-epsilon'] }),
      buildDists({ name: 'cs-epsilon', version: '2.0' }),
    ]);
    delta = index.publish('cs-delta', '1.0', d.wheel);
    index.publish('cs-epsilon', '2.0', e.wheel);
    const repo = { format: 'pypi', upstream: upstream.url, verify: 'require' as const, anchor: 'first-use' as const, metadataTtl: '1h', retries: 0 };
    mirror = await startMirror({ repositories: [{ ...repo, name: 'py', redirects: { allow: [filesHost.url] } }, { ...repo, name: 'strict' }] });
    work = await mkdtemp(join(tmpdir(), 'countersign-pyfiles-'));
  });

  after(async () => {
    await mirror?.close();
    await Promise.all([upstream?.stop(), filesHost?.stop()]);
    await removeDir(mirror.dataDir);
    await removeDir(work);
  });

  test('files on the allowed host are served through the mirror, hash-checked and org-signed (gpg)', async () => {
    const page = (await (await mirror.get('/py/simple/cs-delta/', { headers: { accept: ACCEPT } })).json()) as { files: { url: string; hashes: { sha256: string } }[] };
    const url = page.files[0]!.url;
    assert.equal(url, `${mirror.url}/py/files/cs-delta/~/http/${filesHost.url.slice('http://'.length)}${delta.path}`);
    const bytes = Buffer.from(await (await fetch(url)).arrayBuffer());
    assert.equal(createHash('sha256').update(bytes).digest('hex'), delta.sha256);
    const keys = await (await mirror.get('/-/keys/openpgp.asc')).text();
    assert.ok((await gpgVerify(keys, bytes, Buffer.from(await (await fetch(`${url}.asc`)).arrayBuffer()))).ok);
    assert.equal(filesHost.log.at(-1)?.headers.authorization, undefined);
  });

  test('pip installs a package and its dependency from the files host through the mirror', async () => {
    const target = join(work, 'site');
    const r = await runPip(['install', '--index-url', `${mirror.url}/py/simple`, '--target', target, 'cs-delta']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const installed = await readdir(target);
    assert.ok(installed.includes('cs_delta') && installed.includes('cs_epsilon'), installed.join(' '));
  });

  test('a tampered file from the files host is refused', async () => {
    const { wheel } = await buildDists({ name: 'cs-delta', version: '1.1' });
    const index = new PypiFixture(upstream, filesHost);
    index.serial = 10_000;
    index.files.set('cs-delta', []);
    const file = index.publish('cs-delta', '1.1', wheel);
    mirror.advanceClock(3_600_001);
    const page = (await (await mirror.get('/py/simple/cs-delta/', { headers: { accept: ACCEPT } })).json()) as { files: { filename: string; url: string }[] };
    const url = page.files.find((f) => f.filename === file.filename)!.url;
    filesHost.setMode(file.path, 'tamper');
    try {
      const res = await fetch(url);
      assert.equal(res.status, 502);
      assert.equal(((await res.json()) as { code: string }).code, 'DIGEST_MISMATCH');
    } finally {
      filesHost.clearModes();
    }
    assert.equal((await fetch(url)).status, 200, 'positive control once the host serves the right bytes');
  });

  test('without redirects.allow the files are refused with the reason, and nothing is fetched from that host', async () => {
    filesHost.resetCounts();
    const res = await mirror.get('/strict/simple/cs-epsilon/', { headers: { accept: ACCEPT } });
    assert.equal(res.status, 502);
    assert.match(((await res.json()) as { error: string }).error, /neither the upstream's origin nor in redirects\.allow/);
    const direct = await mirror.get(`/strict/files/cs-epsilon/~/http/${filesHost.url.slice('http://'.length)}/packages/x/cs_epsilon-2.0-py3-none-any.whl`);
    assert.equal(direct.status, 404);
    await direct.arrayBuffer();
    assert.equal(filesHost.requests(), 0);
  });
});
