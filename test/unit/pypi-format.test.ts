/** Pure parts of the Python format: names, content negotiation, hostile project pages, file URLs, escaping, lock files. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parsePylock, parseRequirementsTxt } from '../../src/cli/warm-pypi.js';
import { checkFiles } from '../../src/formats/pypi/check-files.js';
import { locateFile, originSet, upstreamOf } from '../../src/formats/pypi/file-url.js';
import { isProjectName, normalizeProject } from '../../src/formats/pypi/names.js';
import { negotiatePage } from '../../src/formats/pypi/negotiate.js';
import { PageFormatError, parseProjectPage } from '../../src/formats/pypi/project-page.js';
import { escapeHtml, pageHtml, servedPage } from '../../src/formats/pypi/served-page.js';

const base = new URL('https://upstream.example/root/');
const pageUrl = new URL('simple/demo/', base);
const SHA = 'a'.repeat(64);

const page = (files: unknown[], extra: Record<string, unknown> = {}): Buffer =>
  Buffer.from(JSON.stringify({ meta: { 'api-version': '1.1' }, name: 'Demo', files, ...extra }));

describe('pypi names', () => {
  test('PEP 503 normalisation', () => {
    assert.equal(normalizeProject('Foo.Bar__baz-Qux'), 'foo-bar-baz-qux');
    assert.ok(isProjectName('a') && isProjectName('zope.interface'));
    for (const bad of ['', '-a', 'a-', '../x', 'a/b', 'a b', 'x'.repeat(300)]) assert.ok(!isProjectName(bad), bad);
  });
});

describe('pypi content negotiation', () => {
  test('PEP 691 Accept headers', () => {
    assert.equal(negotiatePage(undefined), 'html');
    assert.equal(negotiatePage('*/*'), 'html');
    assert.equal(negotiatePage('text/html'), 'html');
    assert.equal(negotiatePage('application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01'), 'json');
    assert.equal(negotiatePage('application/vnd.pypi.simple.v1+json; q=0.2, text/html'), 'html');
    assert.equal(negotiatePage('application/vnd.pypi.simple.latest+json'), 'json');
    assert.equal(negotiatePage('application/vnd.pypi.simple.v1+json; q=0'), 'html');
  });
});

describe('pypi file URLs (attacker-controlled)', () => {
  test('relative and same-origin URLs map under the base; anything else is refused', () => {
    assert.deepEqual(locateFile('../../packages/ab/demo-1.0.tar.gz', 'demo-1.0.tar.gz', pageUrl, base), { ok: true, path: 'packages/ab/demo-1.0.tar.gz' });
    assert.deepEqual(locateFile('https://upstream.example/root/p/demo-1.0.tar.gz#sha256=x', 'demo-1.0.tar.gz', pageUrl, base), { ok: true, path: 'p/demo-1.0.tar.gz' });
    for (const [url, name] of [
      ['https://elsewhere.example/root/p/demo-1.0.tar.gz', 'demo-1.0.tar.gz'],
      ['../../../outside/demo-1.0.tar.gz', 'demo-1.0.tar.gz'],
      ['/root/p/demo-1.0.tar.gz?token=1', 'demo-1.0.tar.gz'],
      ['/root/p/other-1.0.tar.gz', 'demo-1.0.tar.gz'],
      ['/root/%2e%2e/%2e%2e/demo-1.0.tar.gz', 'demo-1.0.tar.gz'],
      ['/root/p/a%2fb/demo-1.0.tar.gz', 'demo-1.0.tar.gz'],
      ['/root/p/demo.whl.asc', 'demo.whl.asc'],
      ['/root/p/.hidden', '.hidden'],
    ] as const) {
      assert.equal(locateFile(url, name, pageUrl, base).ok, false, url);
    }
  });
});

describe('pypi files on another allowed origin', () => {
  test('map to ~/<scheme>/<host>/… and back; other origins and forged mirror paths are refused', () => {
    const origins = originSet(['https://files.example', 'http://127.0.0.1:8081']);
    const located = locateFile('https://files.example/packages/ab/demo-1.0.tar.gz', 'demo-1.0.tar.gz', pageUrl, base, origins);
    assert.deepEqual(located, { ok: true, path: '~/https/files.example/packages/ab/demo-1.0.tar.gz' });
    assert.equal(upstreamOf('~/https/files.example/packages/ab/demo-1.0.tar.gz', origins), 'https://files.example/packages/ab/demo-1.0.tar.gz');
    assert.equal(upstreamOf('~/http/127.0.0.1:8081/p/demo-1.0.tar.gz', origins), 'http://127.0.0.1:8081/p/demo-1.0.tar.gz');
    assert.equal(upstreamOf('p/demo-1.0.tar.gz', origins), 'p/demo-1.0.tar.gz');
    assert.equal(locateFile('https://evil.example/demo-1.0.tar.gz', 'demo-1.0.tar.gz', pageUrl, base, origins).ok, false);
    assert.equal(locateFile('https://user:pw@files.example/demo-1.0.tar.gz', 'demo-1.0.tar.gz', pageUrl, base, origins).ok, false);
    assert.equal(locateFile('../../~/https/files.example/demo-1.0.tar.gz', 'demo-1.0.tar.gz', pageUrl, base, origins).ok, false, 'no same-origin path poses as another origin');
    for (const forged of ['~/https/evil.example/demo-1.0.tar.gz', '~/ftp/files.example/x', '~/https/files.example:443/x', '~/https/files.example', '~/https/user@files.example/x']) {
      assert.equal(upstreamOf(forged, origins), undefined, forged);
    }
  });
});

describe('pypi project pages (attacker-controlled)', () => {
  test('malformed pages are refused as a whole', () => {
    for (const bytes of ['not json', '[]', '{"meta":{},"name":"Demo","files":[]}', '{"meta":{"api-version":"2.0"},"name":"Demo","files":[]}']) {
      assert.throws(() => parseProjectPage(Buffer.from(bytes), 'demo', pageUrl, base), PageFormatError, bytes);
    }
    assert.throws(() => parseProjectPage(page([], { name: 'other' }), 'demo', pageUrl, base), /not "demo"/);
  });

  test('bad file entries are refused one by one; the rest are vouched for', () => {
    const parsed = parseProjectPage(page([
      { filename: 'demo-1.0.tar.gz', url: '../../p/demo-1.0.tar.gz', hashes: { sha256: SHA.toUpperCase() }, 'core-metadata': { sha256: 'b'.repeat(64) }, yanked: 'why', size: 10 },
      { filename: 'demo-1.1.tar.gz', url: '../../p/demo-1.1.tar.gz', hashes: { md5: 'c'.repeat(32) } },
      { filename: 'demo-1.2.tar.gz', url: 'https://elsewhere.example/demo-1.2.tar.gz', hashes: { sha256: SHA } },
      { filename: 42 },
      'nonsense',
    ]), 'demo', pageUrl, base);
    const check = checkFiles({ anchor: 'pinned', firstUse: () => ({ ok: false, reason: 'unused' }) }, 'demo', parsed.files);
    assert.equal(check.accepted, 1);
    assert.equal(check.rejected.length, 4);
    assert.deepEqual(check.vouches.map((v) => [v.path, v.digest]), [
      ['files/demo/p/demo-1.0.tar.gz', SHA],
      ['by-name/demo/demo-1.0.tar.gz', SHA],
      ['files/demo/p/demo-1.0.tar.gz.metadata', 'b'.repeat(64)],
    ]);
  });

  test('first-use pins: a changed hash rejects that file only', () => {
    const pins = new Map<string, string>();
    const ctx = {
      anchor: 'first-use' as const,
      firstUse: (name: string, material: Buffer) => {
        const seen = pins.get(name);
        if (seen === undefined) pins.set(name, material.toString());
        return seen === undefined || seen === material.toString() ? { ok: true as const, pinnedAt: 0, firstSeen: seen === undefined } : { ok: false as const, reason: `${name} changed` };
      },
    };
    const files = (sha: string) => parseProjectPage(page([
      { filename: 'demo-1.0.tar.gz', url: '../../p/demo-1.0.tar.gz', hashes: { sha256: sha } },
      { filename: 'demo-2.0.tar.gz', url: '../../p/demo-2.0.tar.gz', hashes: { sha256: SHA } },
    ]), 'demo', pageUrl, base).files;
    assert.equal(checkFiles(ctx, 'demo', files(SHA)).accepted, 2);
    const again = checkFiles(ctx, 'demo', files('d'.repeat(64)));
    assert.equal(again.accepted, 1);
    assert.deepEqual(again.rejected.map((r) => r.item), ['demo-1.0.tar.gz']);
  });

  test('the served HTML escapes every upstream value', () => {
    const parsed = parseProjectPage(page([
      { filename: 'demo-1.0.tar.gz', url: '../../p/demo-1.0.tar.gz', hashes: { sha256: SHA }, 'requires-python': '>=3"><script>x</script>', yanked: "<img src=x onerror='y'>" },
    ]), 'demo', pageUrl, base);
    const html = pageHtml(servedPage(parsed, { repositoryUrl: 'http://mirror.example/py', project: 'demo', dropped: new Set(), lenient: false })).toString();
    assert.ok(!html.includes('<script>') && !html.includes('<img'), html);
    assert.ok(html.includes('data-requires-python="&gt;=3&quot;&gt;&lt;script&gt;x&lt;/script&gt;"'));
    fc.assert(fc.property(fc.string(), (s) => !/[<>"']/.test(escapeHtml(s))));
  });

  test('arbitrary JSON never throws anything but PageFormatError', () => {
    fc.assert(fc.property(fc.json(), (json) => {
      try {
        parseProjectPage(Buffer.from(json), 'demo', pageUrl, base);
      } catch (err) {
        if (!(err instanceof PageFormatError)) throw err;
      }
    }));
  });
});

describe('pypi lock files for warm', () => {
  test('requirements.txt with continuations, extras, markers, comments and options', () => {
    const text = [
      '# comment', '--index-url https://upstream.example/simple', '-r other.txt',
      `Foo_Bar[extra]==1.0 ; python_version >= "3.8" \\`, `    --hash=sha256:${SHA.toUpperCase()} \\`, `    --hash=sha256:${'b'.repeat(64)}`,
      'baz===2.0  # pinned', 'unpinned',
    ].join('\n');
    assert.deepEqual(parseRequirementsTxt(text), [
      { project: 'foo-bar', version: '1.0', sha256: [SHA, 'b'.repeat(64)] },
      { project: 'baz', version: '2.0', sha256: [] },
      { project: 'unpinned', sha256: [] },
    ]);
  });

  test('pylock.toml packages with inline and sub-table hashes', () => {
    const text = [
      'lock-version = "1.0"', '[[packages]]', 'name = "A.B"', 'version = "1"',
      `sdist = { name = "a_b-1.tar.gz", hashes = { sha256 = "${SHA}" } }`,
      '[[packages.wheels]]', 'name = "a_b-1-py3-none-any.whl"', `hashes = {sha256 = "${'b'.repeat(64)}"}`,
      '[tool.x]', `sha256 = "${'c'.repeat(64)}"`,
    ].join('\n');
    assert.deepEqual(parsePylock(text), [{ project: 'a-b', version: '1', sha256: [SHA, 'b'.repeat(64)] }]);
  });
});
