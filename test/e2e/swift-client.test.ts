/**
 * The real SwiftPM (Debian trixie's swiftlang, Swift 6.0) resolves a registry package through
 * the mirror over HTTPS with `onUnsigned: error` and `onUntrustedCertificate: error`: with the
 * org root as its only trusted root it resolves (so it accepted the archive and manifest
 * signatures the mirror made), with another root it refuses. Opt-in: COUNTERSIGN_E2E_SWIFT=1
 * (the toolchain is about 450 MB, fetched by scripts/fetch-trixie-swift.sh; needs root).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { freePort, makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { publishSwiftRelease } from '../helpers/swift-fixture.js';
import { makeTestPki, type TestPki } from '../helpers/swift-openssl.js';
import { swiftToolchain, type SwiftToolchain } from '../helpers/swift-toolchain.js';

const enabled = process.env.COUNTERSIGN_E2E_SWIFT === '1';

const APP_MANIFEST = `// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "App",
    dependencies: [.package(id: "mona.LinkedList", from: "1.0.0")],
    targets: [.executableTarget(name: "App", dependencies: [.product(name: "LinkedList", package: "mona.LinkedList")])]
)
`;

describe('swift e2e: SwiftPM through the mirror', { skip: enabled ? false : 'set COUNTERSIGN_E2E_SWIFT=1 (downloads trixie swiftlang, ~450 MB; needs root)' }, () => {
  let upstream: FixtureUpstream;
  let publisher: TestPki;
  let stranger: TestPki;
  let mirror: RunningMirror;
  let dataDir: string;
  let swift: SwiftToolchain;
  let orgRootDer: Buffer;
  let orgCaPem: string;

  before(async () => {
    swift = swiftToolchain();
    [upstream, publisher, stranger] = await Promise.all([startFixtureUpstream(), makeTestPki('Publisher'), makeTestPki('Stranger')]);
    const list = new Map<string, string[]>();
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'LinkedList', version: '1.0.0', signer: publisher }, list);
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'LinkedList', version: '1.1.0', signer: publisher }, list);
    dataDir = await makeDataDir();
    await mkdir(join(dataDir, 'roots'));
    await writeFile(join(dataDir, 'roots', 'publisher.pem'), publisher.rootPem);
    const [port, httpsPort] = await Promise.all([freePort(), freePort()]);
    mirror = await startMirror({
      dataDir, publicUrl: `https://127.0.0.1:${httpsPort}`, listen: { port, https: { port: httpsPort, hosts: ['127.0.0.1', 'localhost'] } },
      repositories: [{ name: 'swift', format: 'swift', upstream: upstream.url, verify: 'require', trust: { roots: ['roots/publisher.pem'] } }],
    });
    orgRootDer = Buffer.from(await (await mirror.get('/swift/-/org-root.cer')).arrayBuffer());
    orgCaPem = new X509Certificate(orgRootDer).toString();
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    if (dataDir) await removeDir(dataDir);
  });

  /** A fresh HOME with the printed registries.json, trusting the DER roots given, and the App package; runs `swift package resolve`. */
  async function resolveWith(rootsDer: Buffer[]): Promise<{ code: number; output: string; resolved?: string }> {
    const dir = await swift.scratch();
    try {
      const home = join(dir.outside, 'home');
      const roots = join(home, 'trusted-roots');
      await mkdir(join(home, '.swiftpm', 'configuration'), { recursive: true });
      await mkdir(roots, { recursive: true });
      for (const [i, der] of rootsDer.entries()) await writeFile(join(roots, `root-${i}.cer`), der);
      // registries.json exactly as the mirror's /swift/-/setup prints it, with this run's roots directory for $HOME's.
      const setup = await (await mirror.get('/swift/-/setup')).text();
      const printed = setup.slice(setup.indexOf('<<JSON\n') + 7, setup.indexOf('\nJSON\n'));
      const registries = printed.replace('$HOME/.swiftpm/security/trusted-root-certs/countersign', `${dir.inside}/home/trusted-roots`);
      assert.equal(JSON.parse(registries).security.default.signing.onUnsigned, 'error');
      await writeFile(join(home, '.swiftpm', 'configuration', 'registries.json'), registries);
      // The mirror's HTTPS certificate is issued by the org CA: the only CA this run's URLSession trusts.
      await writeFile(join(dir.outside, 'org-ca.pem'), orgCaPem);
      const app = join(dir.outside, 'App');
      await mkdir(join(app, 'Sources', 'App'), { recursive: true });
      await writeFile(join(app, 'Package.swift'), APP_MANIFEST);
      await writeFile(join(app, 'Sources', 'App', 'main.swift'), 'import LinkedList\nprint(LinkedList.version)\n');
      // SwiftPM finds its user-level directories from the passwd entry, not $HOME: name them.
      const paths = ['config-path', 'security-path', 'cache-path'].map((p, i) => `--${p} ${dir.inside}/home/${['.swiftpm/configuration', '.swiftpm/security', '.cache'][i]}`).join(' ');
      const result = await swift.run(`swift package resolve --verbose ${paths} 2>&1`, {
        cwd: `${dir.inside}/App`,
        env: { HOME: `${dir.inside}/home` },
        caBundle: join(dir.outside, 'org-ca.pem'),
      });
      const resolved = await readFile(join(app, 'Package.resolved'), 'utf8').catch(() => undefined);
      return { ...result, ...(resolved ? { resolved } : {}) };
    } finally {
      await dir.remove();
    }
  }

  test('with the org root trusted, SwiftPM resolves mona.LinkedList and accepts the mirror\'s signatures', async () => {
    const r = await resolveWith([orgRootDer]);
    console.log(r.output);
    assert.equal(r.code, 0, r.output);
    assert.match(r.resolved ?? '', /"identity" : "mona\.linkedlist"/i);
    assert.match(r.resolved ?? '', /"version" : "1\.1\.0"/);
    // SwiftPM checked both signatures the mirror made: the manifest's and the source archive's.
    assert.match(r.output, /Package\.swift from \S+ is signed with a valid entity/);
    assert.match(r.output, /1\.1\.0 from \S+ is signed with a valid entity/);
  });

  test('with another root trusted, SwiftPM refuses (onUntrustedCertificate: error)', async () => {
    const r = await resolveWith([stranger.rootDer]);
    console.log(r.output);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /is not trusted/);
  });
});
