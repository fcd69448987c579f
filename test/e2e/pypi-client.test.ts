/**
 * The real pip through the mirror: `pip install` of a package with a dependency (wheels built by
 * the test) with the pip.conf the mirror's `/-/setup` prints, `pip download` with every file's
 * `.asc` checked by gpg against the org key; a tampered upstream file makes the install fail at
 * the mirror; and pip itself refuses a file whose hash differs from the one the page serves.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { runPip } from '../helpers/pypi-client.js';
import { buildDists } from '../helpers/pypi-dists.js';
import { PypiFixture } from '../helpers/pypi-fixture.js';
import { heredoc } from '../helpers/setup-text.js';

describe('pip through the mirror', () => {
  let upstream: FixtureUpstream;
  let index: PypiFixture;
  let mirror: RunningMirror;
  const dirs: string[] = [];

  const tempDir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'countersign-pip-'));
    dirs.push(d);
    return d;
  };

  before(async () => {
    upstream = await startFixtureUpstream();
    index = new PypiFixture(upstream);
    const [beta, alpha, gamma] = await Promise.all([
      buildDists({ name: 'cs-beta', version: '1.0' }),
      buildDists({ name: 'cs-alpha', version: '1.0', requires: ['cs-beta>=1.0'], requiresPython: '>=3.8' }),
      buildDists({ name: 'cs-gamma', version: '1.0' }),
    ]);
    index.publish('cs-beta', '1.0', beta.wheel);
    index.publish('cs-alpha', '1.0', alpha.wheel, { requiresPython: '>=3.8' });
    index.publish('cs-gamma', '1.0', gamma.wheel);
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    mirror = await startMirror({
      dataDir,
      repositories: [{ name: 'py', format: 'pypi', upstream: upstream.url, verify: 'require', anchor: 'first-use', metadataTtl: '1h', retries: 0 }],
    });
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    for (const d of dirs) await removeDir(d);
  });

  test('pip install with the pip.conf from /-/setup installs a package and its dependency', async () => {
    const setup = await (await mirror.get('/py/-/setup')).text();
    const work = await tempDir();
    const conf = join(work, 'pip.conf');
    await writeFile(conf, heredoc(setup, '~/.config/pip/pip.conf'));
    const target = join(work, 'site');
    const r = await runPip(['install', '--target', target, 'cs-alpha'], { configFile: conf });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const installed = await readdir(target);
    assert.ok(installed.includes('cs_alpha') && installed.includes('cs_beta'), installed.join(' '));
    assert.equal(await readFile(join(target, 'cs_beta', '__init__.py'), 'utf8'), "VERSION = '1.0'\n");
    // pip ≥ 23.2 (PEP 714's `core-metadata`) read the dependency from the PEP 658 metadata file the
    // mirror checked against the page; older pips download the wheel instead.
    const version = /^pip (\d+)\.(\d+)/.exec((await runPip(['--version'])).stdout);
    if (version && Number(version[1]) * 100 + Number(version[2]) >= 2302) {
      assert.ok(upstream.log.some((q) => q.path.endsWith('.whl.metadata')), 'pip fetched a .metadata file through the mirror');
    }
  });

  test('pip download: every file the mirror serves carries an .asc that gpg verifies against the org key', async () => {
    const dest = await tempDir();
    const r = await runPip(['download', '--index-url', `${mirror.url}/py/simple`, '--dest', dest, 'cs-alpha']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const files = (await readdir(dest)).sort();
    assert.deepEqual(files, ['cs_alpha-1.0-py3-none-any.whl', 'cs_beta-1.0-py3-none-any.whl']);
    const keys = await (await mirror.get('/-/keys/openpgp.asc')).text();
    for (const name of files) {
      const project = name.startsWith('cs_alpha') ? 'cs-alpha' : 'cs-beta';
      const page = (await (await mirror.get(`/py/simple/${project}/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } })).json()) as { files: { filename: string; url: string }[] };
      const url = page.files.find((f) => f.filename === name)!.url;
      const sig = Buffer.from(await (await fetch(`${url}.asc`)).arrayBuffer());
      const v = await gpgVerify(keys, await readFile(join(dest, name)), sig);
      assert.ok(v.ok, `${name}: ${v.status}`);
    }
  });

  test('the HTML view: pip parses the PEP 503 page the mirror generates (requests forced to text/html)', async () => {
    const proxy = await acceptRewritingProxy(mirror.url, 'text/html');
    try {
      const dest = await tempDir();
      const r = await runPip(['download', '--index-url', `${proxy.url}/py/simple`, '--dest', dest, 'cs-alpha']);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.deepEqual((await readdir(dest)).sort(), ['cs_alpha-1.0-py3-none-any.whl', 'cs_beta-1.0-py3-none-any.whl']);
      assert.ok(proxy.served.some((t) => t.startsWith('application/vnd.pypi.simple.v1+html')), proxy.served.join(' '));
      assert.ok(!proxy.served.some((t) => t.startsWith('application/vnd.pypi.simple.v1+json')));
    } finally {
      proxy.server.close();
    }
  });

  test('a tampered upstream file makes pip install fail: the mirror refuses it (positive control installs)', async () => {
    upstream.setMode(index.files.get('cs-gamma')![0]!.path, 'tamper');
    const target = join(await tempDir(), 'site');
    const r = await runPip(['install', '--index-url', `${mirror.url}/py/simple`, '--target', target, 'cs-gamma']);
    assert.notEqual(r.code, 0, 'pip must fail');
    assert.match(`${r.stdout}\n${r.stderr}`, /502|Bad Gateway/);
    upstream.clearModes();
    const ok = await runPip(['install', '--index-url', `${mirror.url}/py/simple`, '--target', target, 'cs-gamma']);
    assert.equal(ok.code, 0, `${ok.stdout}\n${ok.stderr}`);
  });

  test('pip checks the hash the mirror serves: a page whose sha256 was altered in transit fails the install', async () => {
    // A man in the middle between pip and the mirror that alters one hex digit of each hash on the page.
    const proxy = await pageAlteringProxy(mirror.url);
    try {
      const target = join(await tempDir(), 'site');
      const r = await runPip(['install', '--index-url', `${proxy.url}/py/simple`, '--target', target, 'cs-beta']);
      assert.notEqual(r.code, 0, 'pip must refuse the file');
      assert.match(r.stderr, /DO NOT MATCH THE HASHES/);
      // Positive control: the same install straight from the mirror works.
      const ok = await runPip(['install', '--index-url', `${mirror.url}/py/simple`, '--target', target, 'cs-beta']);
      assert.equal(ok.code, 0, `${ok.stdout}\n${ok.stderr}`);
    } finally {
      proxy.server.close();
    }
  });
});

async function pageAlteringProxy(mirrorUrl: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(`${mirrorUrl}${req.url}`, { headers: { accept: req.headers.accept ?? '*/*' } });
      let body = Buffer.from(await upstream.arrayBuffer());
      const type = upstream.headers.get('content-type') ?? 'application/octet-stream';
      if (type.startsWith('application/vnd.pypi.simple')) {
        const doc = JSON.parse(body.toString('utf8')) as { files: { hashes: { sha256: string } }[] };
        for (const f of doc.files) f.hashes.sha256 = createHash('sha256').update(f.hashes.sha256).digest('hex');
        body = Buffer.from(JSON.stringify(doc));
      }
      res.writeHead(upstream.status, { 'content-type': type, 'content-length': body.length });
      res.end(body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Forwards page requests to the mirror with another Accept header, and records the Content-Types answered. */
async function acceptRewritingProxy(mirrorUrl: string, accept: string): Promise<{ url: string; server: Server; served: string[] }> {
  const served: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(`${mirrorUrl}${req.url}`, { headers: { accept } });
      const body = Buffer.from(await upstream.arrayBuffer());
      const type = upstream.headers.get('content-type') ?? 'application/octet-stream';
      served.push(type);
      res.writeHead(upstream.status, { 'content-type': type, 'content-length': body.length });
      res.end(body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, served };
}
