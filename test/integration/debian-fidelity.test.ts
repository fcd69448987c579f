/**
 * Issue 10, fidelity: the served InRelease is the served Release text with LF line endings, as
 * Debian publishes it, and a second consumer of Release files reads it as such: python3-debian
 * (deb822, what debmirror-like tools and reprepro helpers build on) parses both files to the same
 * fields with no CR in any value or file name. gpgv still verifies the LF InRelease (RFC 4880 §7.1:
 * cleartext signatures are computed over canonical CRLF text, whatever line endings are served).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { DebianFixture, gpgv, makeGpgKey, type GpgKey } from '../helpers/debian-fixture.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const run = promisify(execFile);
/** python3-debian (apt) installs into the system interpreter, not whatever python3 comes first on PATH. */
const SYSTEM_PYTHON = '/usr/bin/python3';

/**
 * Two Python readers of Release-shaped files: python3-debian's deb822 (which strips line endings
 * itself) and python3-apt's apt_pkg.TagSection over the signed text as a cleartext reader hands
 * it on (which keeps a CR inside multi-line values: file names then end in "\r").
 */
const DEB822 = `
import json, re, sys
import apt_pkg
from debian import deb822
out = []
for path in sys.argv[1:]:
    raw = open(path, 'rb').read()
    with open(path, 'rb') as f:
        rel = deb822.Release(f)
    text = raw
    m = re.search(rb'\\A-----BEGIN PGP SIGNED MESSAGE-----\\n(?:[^\\n]+\\n)*\\n(.*?)\\n-----BEGIN PGP SIGNATURE-----', raw, re.S)
    if m:
        text = re.sub(rb'(?m)^- ', b'', m.group(1))
    section = apt_pkg.TagSection(text.decode('utf-8').rstrip('\\n') + '\\n')
    out.append({
        'fields': {k: v if isinstance(v, str) else json.dumps([dict(e) for e in v]) for k, v in rel.items()},
        'sha256': [[e['sha256'], str(e['size']), e['name']] for e in rel.get('SHA256', [])],
        'aptPkgNames': [line.split(' ')[-1] for line in section['SHA256'].strip(' ').split('\\n ')],
    })
print(json.dumps(out))
`;

interface Deb822View { fields: Record<string, string>; sha256: [string, string, string][]; aptPkgNames: string[] }

async function readWithPythonDebian(files: Record<string, Buffer>): Promise<Deb822View[]> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-deb822-'));
  try {
    await writeFile(join(dir, 'read.py'), DEB822);
    const paths = [];
    for (const [name, bytes] of Object.entries(files)) {
      await writeFile(join(dir, name), bytes);
      paths.push(join(dir, name));
    }
    const { stdout } = await run(SYSTEM_PYTHON, [join(dir, 'read.py'), ...paths]);
    return JSON.parse(stdout) as Deb822View[];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The signed text of a cleartext-signed file, dash-escaping undone (RFC 4880 §7.1). */
function signedText(inRelease: string): string {
  const start = inRelease.indexOf('\n\n') + 2;
  const end = inRelease.indexOf('\n-----BEGIN PGP SIGNATURE-----\n');
  assert.ok(start > 1 && end > start, 'a cleartext-signed file');
  return inRelease.slice(start, end).replace(/(^|\n)- /g, '$1');
}

describe('debian fidelity: an LF InRelease that other Release consumers read exactly', () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let archive: DebianFixture;
  let mirror: RunningMirror;
  let dataDir: string;

  before(async () => {
    [upstream, key] = await Promise.all([startFixtureUpstream(), makeGpgKey('Fixture Archive')]);
    archive = await DebianFixture.create(key);
    await archive.addDeb({ name: 'hello', version: '1.0', pool: 'pool/main/h/hello' });
    await archive.writeSuite({ suite: 'stable', pools: ['pool/main'], compressions: ['', 'gz', 'xz'], byHash: true });
    await archive.writeSuite({ suite: 'legacy', pools: ['pool/main'], compressions: ['gz'], signing: 'detached' });
    await archive.publish(upstream);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'archive.gpg'), key.binaryKeyring);
    mirror = await startMirror({
      dataDir,
      repositories: [{ name: 'deb', format: 'debian', upstream: `${upstream.url}/debian`, trust: { keyring: 'archive.gpg' }, retries: 0 }],
    });
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await Promise.all([archive?.close(), key?.close()]);
    if (dataDir) await removeDir(dataDir);
  });

  const get = async (path: string): Promise<Buffer> => {
    const res = await mirror.get(path);
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  };

  for (const suite of ['stable', 'legacy']) {
    test(`${suite}: InRelease has LF line endings and signs exactly the served Release text; gpgv verifies it`, async () => {
      const inRelease = await get(`/deb/dists/${suite}/InRelease`);
      const release = await get(`/deb/dists/${suite}/Release`);
      assert.equal(inRelease.includes(0x0d), false, 'no CR in the served InRelease');
      assert.equal(release.includes(0x0d), false, 'no CR in the served Release');
      assert.equal(`${signedText(inRelease.toString('utf8'))}\n`, release.toString('utf8'), 'the signed text is the Release, byte for byte');
      const keys = await (await mirror.get('/-/keys/openpgp.asc')).text();
      const byGpgv = await gpgv(keys, inRelease);
      assert.ok(byGpgv.ok, byGpgv.output);
      const detached = await gpgv(keys, release, await get(`/deb/dists/${suite}/Release.gpg`));
      assert.ok(detached.ok, detached.output);
      // Control: the same InRelease with one field changed no longer verifies.
      const forged = await gpgv(keys, Buffer.from(inRelease.toString('utf8').replace(/^Suite: .*$/m, 'Suite: forged'), 'utf8'));
      assert.equal(forged.ok, false, forged.output);
    });

    test(`${suite}: python3-debian reads InRelease and Release alike, no CR in any field or file name`, async () => {
      const [fromInRelease, fromRelease] = await readWithPythonDebian({
        InRelease: await get(`/deb/dists/${suite}/InRelease`),
        Release: await get(`/deb/dists/${suite}/Release`),
      });
      assert.ok(fromInRelease && fromRelease);
      assert.ok(fromRelease.sha256.length > 0, 'the Release lists files');
      assert.deepEqual(fromInRelease.sha256, fromRelease.sha256, 'the same SHA256 file list');
      assert.deepEqual(fromInRelease.fields, fromRelease.fields, 'the same fields');
      for (const [field, value] of Object.entries(fromInRelease.fields)) assert.equal(/\r/.test(field + value), false, `${field} carries a CR`);
      for (const [, , name] of fromInRelease.sha256) assert.match(name, /^[\w./+-]+$/, `file name ${JSON.stringify(name)}`);
      assert.deepEqual(fromInRelease.aptPkgNames, fromRelease.sha256.map(([, , name]) => name), 'apt_pkg reads the same file names from the signed text');
      assert.equal(fromInRelease.fields['Suite'], suite);
    });
  }

  test('control: apt_pkg reads a CR into the file names of a CRLF-text InRelease (the form openpgp.js armours)', async () => {
    const lf = (await get('/deb/dists/stable/InRelease')).toString('utf8');
    const at = lf.indexOf('\n\n') + 2;
    const end = lf.indexOf('\n-----BEGIN PGP SIGNATURE-----\n');
    const crlf = Buffer.from(lf.slice(0, at) + lf.slice(at, end).replace(/\n/g, '\r\n') + lf.slice(end), 'utf8');
    const [view] = await readWithPythonDebian({ InRelease: crlf });
    assert.ok(view);
    assert.ok(view.aptPkgNames.some((n) => n.endsWith('\r')), `the check can fail: ${JSON.stringify(view.aptPkgNames)}`);
  });
});
