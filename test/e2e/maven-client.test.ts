/**
 * The machine's real `mvn` (3.8.7) through the mirror: a fresh local repository, a settings.xml
 * mirror of everything to the mirror on 127.0.0.1, strict checksums (-C). Maven resolves a version
 * range (maven-metadata.xml) and a transitive dependency, then `mvn -o` builds from the local
 * repository alone. Every file Maven downloaded is checked with gpg against the org key the
 * mirror publishes, and the author's `.asc` against the author's key. A served checksum that
 * does not match fails `-C`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { makeMavenAuthor, type MavenAuthor } from '../helpers/maven-author.js';
import { artifactPath, metadataXml, pomXml, publishArtifact, publishFile } from '../helpers/maven-fixture.js';
import { buildResolvePlugin, RESOLVE_PLUGIN } from '../helpers/maven-resolve-plugin.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const run = promisify(execFile);
const BASE = '/maven2';
const UTIL = { groupId: 'com.acme', artifactId: 'util', version: '2.1' };
const GOAL = `${RESOLVE_PLUGIN.groupId}:${RESOLVE_PLUGIN.artifactId}:${RESOLVE_PLUGIN.version}:resolve`;

describe('mvn through the mirror', () => {
  let upstream: FixtureUpstream;
  let alice: MavenAuthor;
  let bob: MavenAuthor;
  let mirror: RunningMirror;
  let work: string;
  const dirs: string[] = [];

  async function mvn(args: string[], localRepo: string, settings = 'settings.xml'): Promise<{ ok: boolean; out: string }> {
    try {
      const { stdout, stderr } = await run('mvn', ['-B', '-s', join(work, settings), `-Dmaven.repo.local=${localRepo}`, ...args, GOAL], {
        cwd: join(work, 'project'), maxBuffer: 16 * 1024 * 1024, env: { ...process.env, MAVEN_OPTS: '-Xmx256m' },
      });
      return { ok: true, out: stdout + stderr };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      return { ok: false, out: `${String(err)}\n${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  before(async () => {
    [upstream, alice, bob] = await Promise.all([startFixtureUpstream(), makeMavenAuthor('Alice'), makeMavenAuthor('Bob')]);
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    work = await mkdtemp(join(tmpdir(), 'countersign-mvn-'));
    dirs.push(work);
    for (const version of ['1.0', '1.1', '2.0']) await publishArtifact(upstream, BASE, { groupId: 'org.example', artifactId: 'lib', version }, alice, [UTIL]);
    await publishArtifact(upstream, BASE, UTIL, bob);
    await publishFile(upstream, BASE, 'org/example/lib/maven-metadata.xml', metadataXml('org.example', 'lib', ['1.0', '1.1', '2.0'], '20260101120000'), { author: alice });
    await publishFile(upstream, BASE, artifactPath(RESOLVE_PLUGIN, 'jar'), await buildResolvePlugin(), { author: alice });
    await publishFile(upstream, BASE, artifactPath(RESOLVE_PLUGIN, 'pom'), pomXml(RESOLVE_PLUGIN, [], 'maven-plugin'), { author: alice });
    // Maven 3 adds plexus-utils 1.1 to every plugin that does not name a version itself: the machine's own jar, a pom of ours.
    const plexus = { groupId: 'org.codehaus.plexus', artifactId: 'plexus-utils', version: '1.1' };
    await publishFile(upstream, BASE, artifactPath(plexus, 'jar'), await readFile('/usr/share/maven/lib/plexus-utils.jar'), { author: bob });
    await publishFile(upstream, BASE, artifactPath(plexus, 'pom'), pomXml(plexus), { author: bob });
    await writeFile(join(dataDir, 'alice.asc'), alice.armoredPublic);
    await writeFile(join(dataDir, 'bob.asc'), bob.armoredPublic);
    mirror = await startMirror({
      dataDir,
      repositories: [{
        name: 'maven', format: 'maven', upstream: `${upstream.url}${BASE}`, verify: 'require', retries: 0, notFoundTtl: '10m',
        trust: { keyrings: [{ groups: ['org.example'], keyring: 'alice.asc' }, { groups: ['com.acme', 'org.codehaus'], keyring: 'bob.asc' }] },
      }],
    });
    const setup = await (await mirror.get('/maven/-/setup')).text();
    const settings = setup.slice(setup.indexOf('<settings>'), setup.indexOf('</settings>') + '</settings>'.length);
    await writeFile(join(work, 'settings.xml'), settings);
    await run('mkdir', ['-p', join(work, 'project')]);
    await writeFile(join(work, 'project', 'pom.xml'), pomXml({ groupId: 'com.consumer', artifactId: 'app', version: '1' }, [
      { groupId: 'org.example', artifactId: 'lib', version: '[1.0,2.0)' },
    ]));
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await alice?.close();
    await bob?.close();
    for (const d of dirs) await removeDir(d);
  });

  test('mvn -C resolves a version range and a transitive dependency, then mvn -o works from the local repository', async () => {
    const localRepo = join(work, 'repo');
    const online = await mvn(['-C'], localRepo);
    assert.ok(online.ok, online.out);
    assert.match(online.out, /resolved org\.example:lib:jar:1\.1 /, 'the highest version in [1.0,2.0)');
    assert.match(online.out, /resolved com\.acme:util:jar:2\.1 /, 'the transitive dependency');
    assert.doesNotMatch(online.out, /checksum/i);

    upstream.resetCounts();
    const offline = await mvn(['-o', '-C'], localRepo);
    assert.ok(offline.ok, offline.out);
    assert.match(offline.out, /resolved org\.example:lib:jar:1\.1 /);
    assert.equal(upstream.requests(), 0);

    // Every file Maven stored was served by the mirror with an org signature gpg accepts, and the author's beside it.
    const org = await (await mirror.get('/-/keys/openpgp.asc')).text();
    const files = (await walk(localRepo)).filter((f) => /\.(jar|pom)$/.test(f));
    assert.ok(files.length >= 6, files.join(' '));
    for (const file of files) {
      const path = relative(localRepo, file);
      const bytes = await readFile(file);
      const orgSig = Buffer.from(await (await mirror.get(`/maven/${path}.countersign.asc`)).arrayBuffer());
      assert.ok((await gpgVerify(org, bytes, orgSig)).ok, `gpg: org signature of ${path}`);
      const author = path.startsWith('org/example') ? alice : bob;
      const authorSig = Buffer.from(await (await mirror.get(`/maven/${path}.asc`)).arrayBuffer());
      assert.ok((await gpgVerify(author.armoredPublic, bytes, authorSig)).ok, `gpg: author signature of ${path}`);
    }
    const list = Buffer.from(await (await mirror.get('/maven/org/example/lib/maven-metadata.xml')).arrayBuffer());
    const listSig = Buffer.from(await (await mirror.get('/maven/org/example/lib/maven-metadata.xml.asc')).arrayBuffer());
    assert.ok((await gpgVerify(org, list, listSig)).ok, 'gpg: org signature of the version list');
  });

  test('negative control: a checksum altered between the mirror and mvn fails mvn -C', async () => {
    // A loopback proxy in front of the mirror flips the .sha1 of one jar: mvn -C must refuse it,
    // so the passing run above shows mvn really checked the sidecars the mirror made.
    const target = artifactPath({ groupId: 'org.example', artifactId: 'lib', version: '1.1' }, 'jar');
    const proxy = createServer((req, res) => {
      void (async () => {
        const upstreamRes = await fetch(`${mirror.url}${req.url}`);
        let body = Buffer.from(await upstreamRes.arrayBuffer());
        if (req.url === `/maven/${target}.sha1`) body = Buffer.from('0'.repeat(40));
        res.writeHead(upstreamRes.status, { 'content-type': upstreamRes.headers.get('content-type') ?? 'application/octet-stream' });
        res.end(body);
      })().catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = proxy.address() as AddressInfo;
      const settings = (await readFile(join(work, 'settings.xml'), 'utf8')).replace(mirror.url, `http://127.0.0.1:${port}`);
      await writeFile(join(work, 'settings-altered.xml'), settings);
      const failed = await mvn(['-C'], join(work, 'repo-altered'), 'settings-altered.xml');
      assert.equal(failed.ok, false, failed.out);
      assert.match(failed.out, /[Cc]hecksum/);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  test('countersign warm from a pom.xml and a `mvn dependency:list` output; then mvn -C resolves with the upstream gone', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    await writeFile(join(dataDir, 'alice.asc'), alice.armoredPublic);
    await writeFile(join(dataDir, 'bob.asc'), bob.armoredPublic);
    const trust = { keyrings: [{ groups: ['org.example'], keyring: 'alice.asc' }, { groups: ['com.acme', 'org.codehaus'], keyring: 'bob.asc' }] };
    const warmed = await startMirror({ dataDir, repositories: [{ name: 'maven', format: 'maven', upstream: `${upstream.url}${BASE}`, verify: 'require', retries: 0, metadataTtl: '1ms', trust }] });
    const list = join(work, 'dependency-list.txt');
    await writeFile(list, [
      '[INFO] --- maven-dependency-plugin:3.6.0:list (default-cli) @ app ---',
      '[INFO] ',
      '[INFO] The following files have been resolved:',
      '[INFO]    org.example:lib:jar:1.1:compile -- module lib',
      '[INFO]    com.acme:util:jar:2.1:compile',
      `[INFO]    ${RESOLVE_PLUGIN.groupId}:${RESOLVE_PLUGIN.artifactId}:maven-plugin:${RESOLVE_PLUGIN.version}:runtime`,
      '[INFO]    org.codehaus.plexus:plexus-utils:jar:1.1:runtime',
      '',
    ].join('\n'));
    try {
      const cli = join(process.cwd(), 'bin', 'countersign.js');
      for (const input of [join(work, 'project', 'pom.xml'), list]) {
        const { stdout } = await run(process.execPath, [cli, 'warm', '--repo', 'maven', '--mirror', warmed.url, '--no-progress', input]);
        assert.match(stdout, /warmed (\d+) of \1 objects/, stdout);
      }
      await upstream.stop();
      const settings = (await readFile(join(work, 'settings.xml'), 'utf8')).replace(mirror.url, warmed.url);
      await writeFile(join(work, 'settings-warmed.xml'), settings);
      const resolved = await mvn(['-C'], join(work, 'repo-warmed'), 'settings-warmed.xml');
      assert.ok(resolved.ok, resolved.out);
      assert.match(resolved.out, /resolved org\.example:lib:jar:1\.1 /);
      assert.match(resolved.out, /resolved com\.acme:util:jar:2\.1 /);
    } finally {
      await upstream.restart();
      await warmed.close();
    }
  });
});

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}
