/**
 * NuGet through the mirror, against a fixture v3 feed serving unsigned, author-signed,
 * author-signed-and-repository-countersigned and repository-signed packages. Every served
 * package is checked by test/helpers/nuget-verify.ts (python's zipfile, openssl, pkijs): its
 * repository signature by the org chains to the org root, the package hash is recomputed
 * independently, and the lock-file content hash is unchanged.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { NugetFeed } from '../helpers/nuget-fixture.js';
import { addRepositoryCountersignature, buildNupkg, makeUpstreamSigner, packageSignature, unzipSignature, withSignatureEntry, type UpstreamSigner } from '../helpers/nuget-fixture-sign.js';
import { checkServedPackage } from '../helpers/nuget-verify.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

/** Runs a command with `input` on stdin; its trimmed stdout. */
function run(cmd: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
    child.stdin?.end(input);
  });
}

const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('base64');


describe('nuget: a v3 feed through the mirror', () => {
  let upstream: FixtureUpstream;
  let feed: NugetFeed;
  let repoSigner: UpstreamSigner;
  let authorSigner: UpstreamSigner;
  let otherSigner: UpstreamSigner;
  const unsigned: Record<string, Buffer> = {};
  const upstreamBytes: Record<string, Buffer> = {};
  const mirrors: RunningMirror[] = [];

  const repo = (over: Record<string, unknown> = {}) => ({
    name: 'nuget', format: 'nuget', upstream: feed.base, verify: 'require' as const,
    trust: { certificates: [repoSigner.certFile], serviceIndex: 'v3/index.json' }, metadataTtl: '60s', retries: 0, ...over,
  });
  const start = async (over: Record<string, unknown> = {}, top: Record<string, unknown> = {}) => {
    const m = await startMirror({ repositories: [repo(over)], ...top });
    mirrors.push(m);
    return m;
  };
  const pkgPath = (id: string, v = '1.0.0') => `/nuget/v3-flatcontainer/${id}/${v}/${id}.${v}.nupkg`;
  const orgRoot = (m: RunningMirror) => m.app.keys.caPem();

  before(async () => {
    upstream = await startFixtureUpstream();
    [repoSigner, authorSigner, otherSigner] = await Promise.all([makeUpstreamSigner('gallery'), makeUpstreamSigner('author'), makeUpstreamSigner('elsewhere')]);
    feed = new NugetFeed(upstream, [repoSigner]);
    const publish = async (id: string, sign: (u: Buffer) => Promise<Buffer>) => {
      unsigned[id] = await buildNupkg(id, '1.0.0');
      upstreamBytes[id] = await sign(unsigned[id]!);
      feed.publish(id, '1.0.0', upstreamBytes[id]!);
    };
    await publish('unsigned.pkg', async (u) => u);
    await publish('repo.pkg', async (u) => withSignatureEntry(u, await packageSignature(u, repoSigner, 'repository')));
    await publish('other.pkg', async (u) => withSignatureEntry(u, await packageSignature(u, otherSigner, 'repository')));
    await publish('author.pkg', async (u) => withSignatureEntry(u, await packageSignature(u, authorSigner, 'author')));
    await publish('authorrepo.pkg', async (u) => withSignatureEntry(u, await addRepositoryCountersignature(await packageSignature(u, authorSigner, 'author'), repoSigner)));
  });
  after(async () => {
    for (const m of mirrors) {
      await m.close();
      await removeDir(m.dataDir);
    }
    await upstream.stop();
  });

  test('service index: feed resources and search point at the mirror, no RepositorySignatures over http', async () => {
    const m = await start();
    const res = await m.get('/nuget/index.json');
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { resources: Array<{ '@id': string; '@type': string }> };
    const byType = Object.fromEntries(doc.resources.map((r) => [r['@type'], r['@id']]));
    assert.equal(byType['PackageBaseAddress/3.0.0'], `${m.url}/nuget/v3-flatcontainer/`);
    assert.equal(byType['RegistrationsBaseUrl/3.6.0'], `${m.url}/nuget/v3/registration5-gz-semver2/`);
    assert.equal(byType['SearchQueryService/3.5.0'], `${m.url}/nuget/-/nuget/pass-through/0`);
    assert.equal(byType['SearchAutocompleteService/3.5.0'], `${m.url}/nuget/-/nuget/pass-through/1`);
    assert.equal(byType['RepositorySignatures/5.0.0'], undefined, 'never advertised over plain http (NuGet throws)');
    assert.ok(!JSON.stringify(doc).includes(upstream.url), 'no upstream URL under the mirrored base is left');
  });

  test('search passes through unchanged to the upstream\'s origin, without the client\'s credentials; another origin only when allowlisted', async () => {
    const m = await start();
    upstream.resetCounts();
    const res = await m.get('/nuget/-/nuget/pass-through/0?q=repo.pkg&take=5', { headers: { authorization: 'Bearer client-secret', cookie: 'session=1' } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: { id: string }[]; authorization: string | null; cookie: string | null };
    assert.equal(body.data[0]?.id, 'repo.pkg', 'the query reached the upstream');
    assert.equal(body.authorization, null, 'the client\'s credentials stay with the mirror');
    assert.equal(body.cookie, null);
    assert.equal(res.headers.get('set-cookie'), null, 'no upstream cookie on the mirror\'s origin');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(upstream.requests('/search/query'), 1);
    assert.equal(m.app.store.index.getObject('nuget', '-/nuget/pass-through/0'), undefined, 'nothing stored');
    // Autocomplete lives on another origin, which the operator did not allowlist: refused, nothing sent.
    const refused = await m.get('/nuget/-/nuget/pass-through/1?q=re');
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /redirects\.allow|not allowlisted/);
    assert.equal((await m.get('/nuget/-/nuget/pass-through/7?q=x')).status, 404);
  });

  test('repository-signed upstream package: verified by the pinned certificate, re-signed by the org', async () => {
    const m = await start();
    const res = await m.get(pkgPath('repo.pkg'));
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    const served = Buffer.from(await res.arrayBuffer());
    const check = await checkServedPackage(served, { repositoryRootPem: orgRoot(m) });
    assert.deepEqual(check.unsigned, unsigned['repo.pkg'], 'the package body is exactly the upstream package without its signature');
    assert.equal(check.contentHash, sha512(unsigned['repo.pkg']!), 'lock-file content hashes stay valid');
    assert.equal(check.repositorySigner.fingerprint256, new X509Certificate(m.app.keys.x509Leaf('rsa').certDer).fingerprint256, 'signed by the primary org leaf');
    assert.match(check.cmsPrint, /proofOfReceipt/);
  });

  test('author-signed and repository-countersigned upstream: the author signature kept, the countersignature replaced by the org', async () => {
    const m = await start();
    const served = Buffer.from(await (await m.get(pkgPath('authorrepo.pkg'))).arrayBuffer());
    const check = await checkServedPackage(served, { repositoryRootPem: orgRoot(m), authorRootPem: authorSigner.rootPem });
    assert.deepEqual(check.unsigned, unsigned['authorrepo.pkg']);
    assert.equal(check.repositorySigner.fingerprint256, new X509Certificate(m.app.keys.x509Leaf('rsa').certDer).fingerprint256);
    // The checker asserts exactly one repository countersignature (NU3032): the org's replaced the gallery's.
    assert.ok(check.p7s.includes(authorSigner.certDer), 'the author certificate stays');
  });

  test('author-signed only, the author pinned: served with the org repository countersignature added', async () => {
    const m = await start({ trust: { certificates: [repoSigner.certFile, authorSigner.certFile], serviceIndex: 'v3/index.json' } });
    const res = await m.get(pkgPath('author.pkg'));
    assert.equal(res.status, 200, await res.clone().text());
    const served = Buffer.from(await res.arrayBuffer());
    const check = await checkServedPackage(served, { repositoryRootPem: orgRoot(m), authorRootPem: authorSigner.rootPem });
    assert.deepEqual(check.unsigned, unsigned['author.pkg']);
    const upstreamSig = await unzipSignature(upstreamBytes['author.pkg']!);
    assert.ok(check.p7s.includes(upstreamSig), "the author's SignerInfo signature value is kept byte for byte");
  });

  test('require: unsigned, author-only and unpinned-repository packages are refused', async () => {
    const m = await start();
    for (const id of ['unsigned.pkg', 'author.pkg', 'other.pkg']) {
      const res = await m.get(pkgPath(id));
      assert.equal(res.status, 502, `${id}: ${await res.text()}`);
    }
  });

  test('registration (gzip-encoded upstream) served as JSON with packageContent pointing at the mirror', async () => {
    const m = await start();
    const res = await m.get('/nuget/v3/registration5-gz-semver2/repo.pkg/index.json');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-encoding'), null);
    const doc = (await res.json()) as { items: Array<{ items: Array<{ packageContent: string; registration: string }> }> };
    assert.ok(!JSON.stringify(doc).includes(feed.base), 'every URL under the upstream base points at the mirror, page ids included');
    const leaf = doc.items[0]!.items[0]!;
    assert.equal(leaf.packageContent, `${m.url}${pkgPath('repo.pkg')}`);
    assert.equal(leaf.registration, `${m.url}/nuget/v3/registration5-gz-semver2/repo.pkg/index.json`);
    const versions = await m.get('/nuget/v3-flatcontainer/repo.pkg/index.json');
    assert.deepEqual(await versions.json(), { versions: ['1.0.0'] });
  });

  test('nuspec comes from the verified package', async () => {
    const m = await start();
    const res = await m.get('/nuget/v3-flatcontainer/repo.pkg/1.0.0/repo.pkg.nuspec');
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<id>repo.pkg<\/id>/);
  });

  test('deterministic: a second mirror with the same keys and public URL serves the same bytes', async () => {
    const a = await start({}, { publicUrl: 'https://nuget-mirror.example' });
    const b = await start({}, { publicUrl: 'https://nuget-mirror.example' });
    for (const id of ['repo.pkg', 'authorrepo.pkg']) {
      const x = Buffer.from(await (await a.get(pkgPath(id))).arrayBuffer());
      const y = Buffer.from(await (await b.get(pkgPath(id))).arrayBuffer());
      assert.deepEqual(x, y, id);
    }
  });

  test('client setup: nuget.config trusts the org leaf by uppercase SHA-256 fingerprint, require mode', async () => {
    const m = await start();
    const text = await (await m.get('/nuget/-/setup')).text();
    const fp = createHash('sha256').update(m.app.keys.x509Leaf('rsa').certDer).digest('hex').toUpperCase();
    assert.match(text, new RegExp(`<certificate fingerprint="${fp}" hashAlgorithm="SHA256" allowUntrustedRoot="true" />`));
    assert.match(text, /<add key="signatureValidationMode" value="require" \/>/);
    assert.match(text, new RegExp(`<add key="nuget" value="${m.url}/nuget/index.json" protocolVersion="3" />`));
    // A real XML parser (python's ElementTree) reads what NuGet would.
    const parsed = await run('python3', ['-c', `
import sys, xml.etree.ElementTree as ET
c = ET.fromstring(sys.stdin.read())
print(c.find('config/add').get('value'), c.find('packageSources/add').get('value'))
for cert in c.findall('trustedSigners/repository/certificate'): print(cert.get('fingerprint'), cert.get('hashAlgorithm'), cert.get('allowUntrustedRoot'))`], text);
    assert.equal(parsed, `require ${m.url}/nuget/index.json\n${fp} SHA256 true`);
    const unverifiedFp = createHash('sha256').update(m.app.keys.x509Leaf('rsa', 'unverified').certDer).digest('hex').toUpperCase();
    assert.ok(!text.includes(unverifiedFp), 'the unverified leaf is never trusted');
  });

  test('https mirror: RepositorySignatures/5.0.0 lists the org signing certificate', async () => {
    const m = await start({}, { publicUrl: 'https://nuget-mirror.example' });
    const doc = (await (await m.get('/nuget/index.json')).json()) as { resources: Array<{ '@id': string; '@type': string }> };
    const resource = doc.resources.find((r) => r['@type'] === 'RepositorySignatures/5.0.0');
    assert.equal(resource?.['@id'], 'https://nuget-mirror.example/nuget/-/nuget/repository-signatures.json');
    const sigs = (await (await m.get('/nuget/-/nuget/repository-signatures.json')).json()) as { allRepositorySigned: boolean; signingCertificates: Array<{ fingerprints: Record<string, string>; contentUrl: string; subject: string }> };
    assert.equal(sigs.allRepositorySigned, true);
    const leaf = m.app.keys.x509Leaf('rsa').certDer;
    const fp = createHash('sha256').update(leaf).digest('hex');
    assert.equal(sigs.signingCertificates[0]?.fingerprints['2.16.840.1.101.3.4.2.1'], fp);
    assert.equal(sigs.signingCertificates[0]?.contentUrl, `https://nuget-mirror.example/nuget/-/nuget/certificates/${fp}.crt`);
    const der = Buffer.from(await (await m.get(`/nuget/-/nuget/certificates/${fp}.crt`)).arrayBuffer());
    assert.deepEqual(der, leaf);
    const served = Buffer.from(await (await m.get(pkgPath('repo.pkg'))).arrayBuffer());
    const check = await checkServedPackage(served, { repositoryRootPem: orgRoot(m) });
    assert.match(check.cmsPrint, /https:\/\/nuget-mirror\.example\/nuget\/index\.json/);
  });
});
