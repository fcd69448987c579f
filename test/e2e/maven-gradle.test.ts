/**
 * The machine's Gradle through the mirror, configured only by the init script `-/setup` prints.
 * Debian's Gradle is 4.4.1: it resolves a version range and a transitive dependency here, but it
 * predates dependency verification (Gradle 6.2), so the org and author signatures of what it
 * downloaded are checked with gpg instead (see NOTES-README: no newer Gradle can be had here).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { makeMavenAuthor, type MavenAuthor } from '../helpers/maven-author.js';
import { artifactPath, metadataXml, publishArtifact, publishFile } from '../helpers/maven-fixture.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const run = promisify(execFile);
const BASE = '/maven2';
const UTIL = { groupId: 'com.acme', artifactId: 'util', version: '2.1' };

let upstream: FixtureUpstream;
let alice: MavenAuthor;
let bob: MavenAuthor;
let mirror: RunningMirror;
const dirs: string[] = [];

before(async () => {
  [upstream, alice, bob] = await Promise.all([startFixtureUpstream(), makeMavenAuthor('Alice'), makeMavenAuthor('Bob')]);
  for (const version of ['1.0', '1.1', '2.0']) await publishArtifact(upstream, BASE, { groupId: 'org.example', artifactId: 'lib', version }, alice, [UTIL]);
  await publishArtifact(upstream, BASE, UTIL, bob);
  await publishFile(upstream, BASE, 'org/example/lib/maven-metadata.xml', metadataXml('org.example', 'lib', ['1.0', '1.1', '2.0'], '20260101120000'), { author: alice });
  const dataDir = await makeDataDir();
  dirs.push(dataDir);
  await writeFile(join(dataDir, 'alice.asc'), alice.armoredPublic);
  await writeFile(join(dataDir, 'bob.asc'), bob.armoredPublic);
  mirror = await startMirror({
    dataDir,
    repositories: [{
      name: 'maven', format: 'maven', upstream: `${upstream.url}${BASE}`, verify: 'require', retries: 0, notFoundTtl: '10m',
      trust: { keyrings: [{ groups: ['org.example'], keyring: 'alice.asc' }, { groups: ['com.acme'], keyring: 'bob.asc' }] },
    }],
  });
});

after(async () => {
  await mirror?.close();
  await upstream?.stop();
  await alice?.close();
  await bob?.close();
  for (const d of dirs) await removeDir(d);
});

test('gradle resolves a version range and a transitive dependency through the init script of -/setup', { timeout: 300_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'countersign-gradle-'));
  dirs.push(work);
  const setup = await (await mirror.get('/maven/-/setup')).text();
  const init = setup.slice(setup.indexOf('def countersignUrl'), setup.indexOf('\n\n', setup.indexOf('def countersignUrl')));
  await writeFile(join(work, 'countersign.gradle'), `${init}\n`);
  await mkdir(join(work, 'project'));
  await writeFile(join(work, 'project', 'settings.gradle'), "rootProject.name = 'app'\n");
  await writeFile(join(work, 'project', 'build.gradle'), [
    "apply plugin: 'java'",
    "dependencies { compile 'org.example:lib:[1.0,2.0)' }",
    'task resolve { doLast { configurations.compile.resolvedConfiguration.resolvedArtifacts.each { a ->',
    '  println "resolved ${a.moduleVersion.id} ${a.file.name}"',
    '} } }',
    '',
  ].join('\n'));
  const { stdout } = await run('gradle', ['--no-daemon', '-q', '-g', join(work, 'gradle-home'), '--init-script', join(work, 'countersign.gradle'), 'resolve'], {
    cwd: join(work, 'project'), maxBuffer: 16 * 1024 * 1024, timeout: 240_000,
  });
  assert.match(stdout, /resolved org\.example:lib:1\.1 lib-1\.1\.jar/);
  assert.match(stdout, /resolved com\.acme:util:2\.1 util-2\.1\.jar/);

  const org = await (await mirror.get('/-/keys/openpgp.asc')).text();
  for (const [c, author] of [[{ groupId: 'org.example', artifactId: 'lib', version: '1.1' }, alice], [UTIL, bob]] as const) {
    for (const ext of ['jar', 'pom']) {
      const path = artifactPath(c, ext);
      const bytes = Buffer.from(await (await mirror.get(`/maven/${path}`)).arrayBuffer());
      assert.ok((await gpgVerify(org, bytes, Buffer.from(await (await mirror.get(`/maven/${path}.countersign.asc`)).arrayBuffer()))).ok, path);
      assert.ok((await gpgVerify(author.armoredPublic, bytes, Buffer.from(await (await mirror.get(`/maven/${path}.asc`)).arrayBuffer()))).ok, path);
    }
  }
});
