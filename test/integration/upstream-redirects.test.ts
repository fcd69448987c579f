/**
 * Issue 10: a redirect from the upstream to a loopback or private-address service was
 * followed and, under `verify: off`, its body served to the client. Against the real mirror
 * (raw format, verify off) with two fixture upstreams on 127.0.0.1: different ports are
 * different origins, so A -> B stands for registry -> internal service.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../src/config/load-config.js';
import { FORMATS } from '../../src/formats/index.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { configText, makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

describe('upstream redirects through the mirror', () => {
  let upstream: FixtureUpstream;
  let internal: FixtureUpstream;
  let mirror: RunningMirror;
  let dataDir: string;

  before(async () => {
    [upstream, internal] = await Promise.all([startFixtureUpstream(), startFixtureUpstream()]);
    dataDir = await makeDataDir();
    mirror = await startMirror({
      dataDir,
      repositories: [{ name: 'files', format: 'raw', upstream: `${upstream.url}/releases`, verify: 'off', retries: 0 }],
    });
  });

  after(async () => {
    await mirror?.close();
    await Promise.all([upstream?.stop(), internal?.stop()]);
    await removeDir(dataDir);
  });

  const objectCount = () => mirror.app.store.index.referencedBlobs().size;

  test('a redirect to another origin on a loopback address is refused with a typed error; nothing is stored', async () => {
    internal.setFile('/admin/secrets.txt', 'internal secrets\n');
    upstream.setMode('/releases/tool.tar', { redirect: `${internal.url}/admin/secrets.txt` });
    const before = objectCount();
    const res = await mirror.get('/files/tool.tar');
    const text = await res.text();
    assert.equal(res.status, 502, text);
    assert.ok(!text.includes('internal secrets'), text);
    const body = JSON.parse(text) as { code?: string; repository?: string; reason?: string };
    assert.equal(body.code, 'UPSTREAM_BAD_STATUS');
    assert.equal(body.repository, 'files');
    assert.equal(internal.requests(), 0, 'the internal service was never asked');
    assert.equal(objectCount(), before);
  });

  test('positive control: a redirect on the upstream\'s own origin is followed and served', async () => {
    upstream.setFile('/releases/v2/tool-2.tar', 'tool 2 contents\n');
    upstream.setMode('/releases/tool-2.tar', { redirect: '/releases/v2/tool-2.tar' });
    const res = await mirror.get('/files/tool-2.tar');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'tool 2 contents\n');
  });

  test('the configuration takes redirects.allow and credentialOrigins as origins only', () => {
    const parse = (extra: Record<string, unknown>) =>
      parseConfig(configText({ dataDir, repositories: [{ name: 'files', format: 'raw', upstream: upstream.url, ...extra }] }), { file: 't.yaml', formats: FORMATS, env: {}, cwd: dataDir });
    const ok = parse({ redirects: { allow: [internal.url] }, credentialOrigins: ['https://auth.upstream.example'] });
    assert.deepEqual(ok.repositories[0]?.redirects, { allow: [internal.url] });
    assert.deepEqual(ok.repositories[0]?.credentialOrigins, ['https://auth.upstream.example']);
    assert.throws(() => parse({ redirects: { allow: ['https://cdn.upstream.example/path'] } }), /redirects\.allow/);
    assert.throws(() => parse({ credentialOrigins: ['auth.upstream.example'] }), /credentialOrigins/);
  });
});
