/**
 * The real apt through a mirror with workers (`listen.workers: 2`): the pool of a by-hash archive
 * is vouched for lazily, from package lists the store names (ObjectRef.requiresVouched), so it
 * works whichever process served `apt-get update` — also after a restart, when every index is a
 * warm hit the workers answer and the primary, which vouches for the pool, saw none of them. A
 * package the upstream tampered with is refused all the same.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { APT_TOOLS_MISSING, assertAptOk, makeAptEnv, type AptEnv } from '../helpers/apt-client.js';
import { DebianFixture, makeGpgKey, sha256, type GpgKey } from '../helpers/debian-fixture.js';
import { startServeChild, waitFor, type ServeChild } from '../helpers/fault-serve.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { configText, freePort, makeDataDir, removeDir } from '../helpers/mirror-harness.js';

describe('apt through a mirror with workers', { skip: APT_TOOLS_MISSING }, () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let archive: DebianFixture;
  let child: ServeChild | undefined;
  let dataDir: string;
  let configFile: string;
  let port: number;
  let env: AptEnv;
  let lib: string;
  let tool: string;

  const start = async (): Promise<ServeChild> => {
    const c = await startServeChild(configFile, port);
    await waitFor(async () => c.log().includes('"msg":"countersign listening"'), 15_000);
    return c;
  };

  before(async () => {
    [upstream, key] = await Promise.all([startFixtureUpstream(), makeGpgKey('Fixture Archive')]);
    archive = await DebianFixture.create(key);
    lib = await archive.addDeb({ name: 'libthing', version: '1.0', pool: 'pool/main/l/libthing' });
    tool = await archive.addDeb({ name: 'tool', version: '1.0', pool: 'pool/main/t/tool', depends: 'libthing' });
    await archive.writeSuite({ suite: 'stable', pools: ['pool/main'], compressions: ['', 'gz', 'xz'], withheld: [''], byHash: true });
    await archive.publish(upstream);
    dataDir = await makeDataDir();
    port = await freePort();
    configFile = join(dataDir, 'config.yaml');
    await writeFile(join(dataDir, 'archive.gpg'), key.binaryKeyring);
    await writeFile(configFile, configText({
      listen: { host: '127.0.0.1', port, workers: 2 },
      dataDir,
      log: { level: 'info' },
      repositories: [{ name: 'debian', format: 'debian', upstream: `${upstream.url}/debian`, trust: { keyring: join(dataDir, 'archive.gpg') }, metadataTtl: '5m', retries: 0 }],
    }));
    child = await start();
    env = await makeAptEnv();
    const keyFile = await env.writeFile('countersign.asc', await (await fetch(`http://127.0.0.1:${port}/-/keys/openpgp.asc`)).text());
    await env.setSources([`deb [signed-by=${keyFile}] http://127.0.0.1:${port}/debian stable main`]);
  });

  after(async () => {
    await child?.stop();
    await upstream?.stop();
    await env?.close();
    await Promise.all([archive?.close(), key?.close()]);
    await removeDir(dataDir);
  });

  test('update, restart, update from warm hits only, then the pool: tampered refused, genuine downloaded', async () => {
    assertAptOk(await env.aptGet(['update']), 'apt-get update (cold)');
    assert.equal(await child!.stop(), 0);
    child = await start();
    upstream.resetCounts();
    assertAptOk(await env.aptGet(['update']), 'apt-get update (warm, after the restart)');
    assert.equal(upstream.requests('/debian/dists/stable/InRelease'), 0, 'the update after the restart was all hits');

    upstream.setMode(`/debian/${lib}`, 'tamper');
    const refused = await env.aptGet(['download', 'libthing'], { cwd: env.downloads });
    assert.notEqual(refused.code, 0, 'apt-get download of the tampered package failed');
    assert.match(refused.stderr, /502/);
    // Positive control: the genuine bytes, vouched for by the package list the store names.
    upstream.clearModes();
    assertAptOk(await env.aptGet(['download', 'libthing'], { cwd: env.downloads }), 'apt-get download libthing');
    assert.equal(sha256(await readFile(join(env.downloads, 'libthing_1.0_all.deb'))), sha256(await archive.file(lib)));
    assertAptOk(await env.aptGet(['download', 'tool'], { cwd: env.downloads }), 'apt-get download tool');
    assert.equal(sha256(await readFile(join(env.downloads, 'tool_1.0_all.deb'))), sha256(await archive.file(tool)));
  });
});
