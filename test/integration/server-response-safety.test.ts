/**
 * What the mirror's origin serves must never run in a browser, and what it shows must never
 * name its internals (issue 10, "the server itself"). A raw upstream that serves an HTML page
 * with a <script> (or SVG, or JavaScript) under a signed file is stored XSS on the mirror's
 * origin unless the mirror sends it as a download with nosniff and a sandboxing CSP.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MirrorError } from '../../src/errors.js';
import { publicError } from '../../src/server/response-security.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { publishRaw } from '../helpers/raw-fixture.js';
import { makeUpstreamPgpKey, type UpstreamPgpKey } from '../helpers/upstream-openpgp.js';

const PAGE = '<!doctype html><html><body><script>fetch("/-/keys").then(r => r.text()).then(alert)</script></body></html>\n';

function assertHardened(res: Response, what: string): void {
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/, `${what}: CSP sandbox`);
  assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/, `${what}: CSP default-src 'none'`);
}

describe('raw files an upstream serves as documents', () => {
  let upstream: FixtureUpstream;
  let key: UpstreamPgpKey;
  let mirror: RunningMirror;
  let dataDir: string;

  before(async () => {
    [upstream, key] = await Promise.all([startFixtureUpstream(), makeUpstreamPgpKey()]);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
    const files = (name: string, over: Record<string, unknown> = {}) => ({
      name, format: 'raw', upstream: `${upstream.url}/releases`, verify: 'require' as const,
      trust: { keyring: 'upstream.asc', checksums: 'sha256' as const }, retries: 0, ...over,
    });
    // `creds`: an upstream URL carrying credentials, which no client may ever see.
    const withCreds = `${upstream.url.replace('http://', 'http://mirror-user:s3cret-pass@')}/releases`;
    mirror = await startMirror({ dataDir, repositories: [files('files'), files('creds', { upstream: withCreds })] });
    const publish = async (path: string, body: string, contentType: string): Promise<void> => {
      await publishRaw(upstream, key, path, body);
      upstream.setFile(path, body, { contentType });
    };
    await publish('/releases/index.html', PAGE, 'text/html; charset=utf-8');
    await publish('/releases/logo.svg', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n', 'image/svg+xml');
    await publish('/releases/install.js', 'alert(document.cookie)\n', 'application/javascript');
    await publish('/releases/page.xhtml', `<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>\n`, 'application/xhtml+xml');
    await publish('/releases/NOTES.txt', 'plain release notes\n', 'text/plain; charset=UTF-8');
    await publish('/releases/tool.tar.gz', 'not really gzip\n', 'application/gzip');
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await removeDir(dataDir);
  });

  for (const [file, upstreamType] of [['index.html', 'text/html'], ['logo.svg', 'image/svg+xml'], ['install.js', 'application/javascript'], ['page.xhtml', 'application/xhtml+xml']] as const) {
    test(`${file} (${upstreamType} upstream) is served verified as application/octet-stream, sandboxed, cold and warm`, async () => {
      for (const round of ['cold', 'warm']) {
        const res = await mirror.get(`/files/${file}`);
        assert.equal(res.status, 200, round);
        assert.match(res.headers.get('x-countersign-verification') ?? '', /^verified/, `${round}: the bytes are the upstream's, verified`);
        assert.equal(res.headers.get('content-type'), 'application/octet-stream', `${round}: never the upstream's ${upstreamType}`);
        assertHardened(res, `${round} ${file}`);
        await res.arrayBuffer();
      }
    });
  }

  test('the bytes are kept exactly: only the type changes', async () => {
    assert.equal(await (await mirror.get('/files/index.html')).text(), PAGE);
  });

  test('positive control: safe types pass through (text/plain with its charset, application/gzip)', async () => {
    const notes = await mirror.get('/files/NOTES.txt');
    assert.equal(notes.status, 200);
    assert.equal(notes.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await notes.text(), 'plain release notes\n');
    assertHardened(notes, 'NOTES.txt');
    const tarball = await mirror.get('/files/tool.tar.gz');
    assert.equal(tarball.headers.get('content-type'), 'application/gzip');
    await tarball.arrayBuffer();
  });

  test('the mirror\'s signature, a 304, a 404 and the mirror endpoints carry the same headers', async () => {
    const sig = await mirror.get('/files/index.html.asc');
    assert.equal(sig.headers.get('content-type'), 'application/pgp-signature');
    assertHardened(sig, '.asc');
    await sig.arrayBuffer();
    const etag = (await mirror.get('/files/NOTES.txt')).headers.get('etag') ?? '';
    const notModified = await mirror.get('/files/NOTES.txt', { headers: { 'if-none-match': etag } });
    assert.equal(notModified.status, 304);
    assertHardened(notModified, '304');
    const missing = await mirror.get('/nothing-here/x');
    assert.equal(missing.status, 404);
    assertHardened(missing, '404');
    await missing.arrayBuffer();
    for (const path of ['/-/health', '/-/metrics', '/-/keys', '/-/keys/openpgp.asc']) {
      const res = await mirror.get(path);
      assert.equal(res.status, 200, path);
      assertHardened(res, path);
      await res.arrayBuffer();
    }
  });

  test('an upstream failure names the repository and object but never the credentials or the data directory', async () => {
    upstream.setMode('/releases/broken.bin', { status: 500, body: 'oops' });
    const res = await mirror.get('/creds/broken.bin');
    assert.equal(res.status, 502);
    const text = await res.text();
    const body = JSON.parse(text) as { repository: string; object: string };
    assert.equal(body.repository, 'creds');
    assert.equal(body.object, 'broken.bin');
    assert.doesNotMatch(text, /s3cret-pass|mirror-user/);
    assert.ok(!text.includes(dataDir), 'no data directory in the error');
  });
});

describe('errors shown to clients', () => {
  test('name no internal directory and no URL credentials, and keep code, status, repository and object', () => {
    const dataDir = '/srv/countersign/data';
    const err = new MirrorError('STORE_ERROR', `Cannot write ${dataDir}/blobs/tmp/x: ENOSPC; upstream http://u:pw@upstream.example/a failed`,
      { repository: 'files', object: 'a', file: `${dataDir}/blobs/tmp/x`, note: `see ${dataDir}` });
    const shown = publicError(err, { dirs: [dataDir] });
    const json = JSON.stringify(shown.toJSON());
    assert.ok(!json.includes(dataDir), json);
    assert.doesNotMatch(json, /u:pw@/);
    assert.match(json, /ENOSPC/, 'the reason itself is kept');
    assert.equal(shown.code, 'STORE_ERROR');
    assert.equal(shown.status, 500);
    assert.equal(shown.details.repository, 'files');
    assert.equal(shown.details.object, 'a');
    assert.equal(shown.details.file, undefined);
    // Positive control: an error with nothing internal is passed on unchanged.
    const clean = new MirrorError('NOT_FOUND', 'No such file', { repository: 'files', object: 'b' });
    assert.equal(publicError(clean, { dirs: [dataDir] }), clean);
  });
});
