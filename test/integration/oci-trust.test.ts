/**
 * Issue 9 for OCI: a primary org signature means "verified under the cosign keys the operator
 * pinned, today". The upstream is a real distribution registry; its publisher signs with the real
 * `cosign sign --key`; the attacker writes to the same registry (it controls the upstream).
 * - finding 2: a `.sig` manifest S′ made of a manifest M's genuine signature layer plus the
 *   attacker's config and layer must never become a verified manifest the mirror cosigns;
 * - finding 5: `require` without `trust.cosignKeys` does not open; `warn` without them signs with
 *   the unverified key only;
 * - finding 6: a tag moved back to a manifest whose newest signed timestamp is older than the
 *   served one's is a rollback; re-signing it (a deliberate move back) is accepted.
 * Every refusal is paired with the correctly signed object served and verifying with the primary key.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { CosignSigner, type CosignKeyPair } from '../helpers/cosign-signer.js';
import { putManifest, uploadBlob } from '../helpers/docker-manifest-list.js';
import { startFixtureRegistry, type FixtureRegistry } from '../helpers/oci-fixture-registry.js';
import { OciLayout, tarOf } from '../helpers/oci-image.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const ALL_TYPES = [OCI_INDEX, OCI_MANIFEST, 'application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.docker.distribution.manifest.v2+json'].join(', ');
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const SIGNATURE = 'dev.cosignproject.cosign/signature';
const TTL_MS = 60_000;

interface Descriptor { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }
interface Manifest { schemaVersion: number; mediaType?: string; config: Descriptor; layers: Descriptor[] }

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe('oci trust (issue 9): only what pinned cosign keys vouch for is signed by the primary key', () => {
  let registry: FixtureRegistry;
  let mirror: RunningMirror;
  let work: string;
  let signer: CosignSigner;
  let upstreamKey: CosignKeyPair;
  let primary: KeyObject;
  /** demo/app@M: a signed image whose `.sig` tag the attacker replaced with S′. */
  let m: string;
  let sPrime: string;
  let attackerLayer: string;
  /** demo/rel: A signed at t=1_700_000_000, B at t=1_700_000_100. */
  let a: string;
  let b: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'countersign-oci-trust-'));
    registry = await startFixtureRegistry();
    signer = new CosignSigner(work);
    upstreamKey = await signer.generateKeyPair('upstream');
    const layout = new OciLayout(join(work, 'layout'));
    const one = (tag: string) => layout.add({ tag, platforms: [{ os: 'linux', architecture: 'amd64', files: { 'hello.txt': `${tag}\n` } }] });
    m = await one('v1');
    await registry.push(layout.dir, 'v1', 'demo/app');
    a = await one('a');
    await registry.push(layout.dir, 'a', 'demo/rel');
    b = await one('b');
    await registry.push(layout.dir, 'b', 'demo/rel');
    const ref = (name: string, digest: string) => `${registry.backendHost}/${name}@${digest}`;
    await signer.sign(ref('demo/app', m), upstreamKey);
    await signer.sign(ref('demo/rel', a), upstreamKey, { annotations: { timestamp: '1700000000' } });
    await signer.sign(ref('demo/rel', b), upstreamKey, { annotations: { timestamp: '1700000100' } });
    await retag('demo/rel', a, 'rel');

    // The attacker: M's genuine signature layer, plus a config and a layer of their own, pushed as M's `.sig`.
    const backend = `http://${registry.backendHost}`;
    const sigTag = `sha256-${m.slice(7)}.sig`;
    const genuine = JSON.parse((await upstream('demo/app', sigTag)).toString()) as Manifest;
    const layer = gzipSync(tarOf({ 'evil.sh': '#!/bin/sh\necho owned\n' }));
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tarOf({ 'evil.sh': '#!/bin/sh\necho owned\n' }))}`] } }));
    await uploadBlob(backend, 'demo/app', layer);
    await uploadBlob(backend, 'demo/app', config);
    attackerLayer = `sha256:${sha256(layer)}`;
    const forged = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: config.byteLength },
      layers: [...genuine.layers, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: attackerLayer, size: layer.byteLength }],
    }));
    await putManifest(backend, 'demo/app', sigTag, forged, OCI_MANIFEST);
    sPrime = `sha256:${sha256(forged)}`;

    mirror = await startMirror({
      repositories: [
        { name: 'req', format: 'oci', upstream: registry.url, verify: 'require', retries: 0, trust: { cosignKeys: [upstreamKey.pub] } },
        { name: 'warn', format: 'oci', upstream: registry.url, verify: 'warn', retries: 0, trust: { cosignKeys: [upstreamKey.pub] } },
        { name: 'open', format: 'oci', upstream: registry.url, verify: 'warn', retries: 0 },
        { name: 'rel', format: 'oci', upstream: registry.url, verify: 'require', retries: 0, metadataTtl: `${TTL_MS}ms`, trust: { cosignKeys: [upstreamKey.pub] } },
      ],
    });
    primary = createPublicKey(await (await mirror.get('/-/keys/cosign.pub')).text());
  });
  after(async () => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function upstream(name: string, ref: string): Promise<Buffer> {
    const res = await fetch(`http://${registry.backendHost}/v2/${name}/manifests/${ref}`, { headers: { accept: ALL_TYPES } });
    assert.equal(res.status, 200, `upstream ${name}:${ref}`);
    return Buffer.from(await res.arrayBuffer());
  }
  async function retag(name: string, digest: string, tag: string): Promise<void> {
    await putManifest(`http://${registry.backendHost}`, name, tag, await upstream(name, digest), OCI_MANIFEST);
  }
  const manifest = (repo: string, name: string, ref: string) => mirror.get(`/v2/${repo}/${name}/manifests/${ref}`, { headers: { accept: ALL_TYPES } });
  const sigOf = (repo: string, name: string, digest: string) => manifest(repo, name, `sha256-${digest.slice(7)}.sig`);

  /** The keys (primary / unverified / neither) that made each org layer of a served `.sig`: layers by other keys are the upstream's. */
  async function orgSigners(repo: string, name: string, sig: Manifest): Promise<string[]> {
    // Absent (404) on a mirror without the unverified role: then nothing can be 'unverified'.
    const published = await mirror.get('/-/keys/cosign-unverified.pub');
    const unverified = published.status === 200 ? createPublicKey(await published.text()) : undefined;
    const out: string[] = [];
    for (const layer of sig.layers) {
      const payload = Buffer.from(await (await mirror.get(`/v2/${repo}/${name}/blobs/${layer.digest}`)).arrayBuffer());
      const signature = Buffer.from(layer.annotations?.[SIGNATURE] ?? '', 'base64');
      out.push(verify('sha256', payload, primary, signature) ? 'primary' : unverified && verify('sha256', payload, unverified, signature) ? 'unverified' : 'other');
    }
    return out;
  }

  test('finding 2: S′ (a genuine signature layer + the attacker\'s layer) is refused as a manifest and never cosigned; M stays served and primary-signed', async () => {
    // Positive control: M verifies through the genuine layer in S′; its `.sig` is signed by the primary key.
    const byDigest = await manifest('req', 'demo/app', m);
    assert.equal(byDigest.status, 200, await byDigest.clone().text());
    assert.match(byDigest.headers.get('x-countersign-verification') ?? '', /^verified; by=cosign:SHA256:/);
    const sigRes = await sigOf('req', 'demo/app', m);
    assert.equal(sigRes.status, 200);
    const sig = (await sigRes.json()) as Manifest;
    assert.deepEqual(await orgSigners('req', 'demo/app', sig), ['primary', 'primary', 'other'], 'two org identities by the primary key, then the upstream layer');
    assert.ok(sig.layers.every((l) => l.mediaType === SIMPLE_SIGNING), 'only verified signature layers are carried over');
    assert.ok(!sig.layers.some((l) => l.digest === attackerLayer));

    // The attack: S′ by digest is not a verified manifest, and the mirror makes no signature for it.
    const forged = await manifest('req', 'demo/app', sPrime);
    assert.equal(forged.status, 502, `S′ must be refused, got ${forged.status}: ${await forged.clone().text()}`);
    assert.match(await forged.text(), /no cosign signature/);
    assert.equal((await sigOf('req', 'demo/app', sPrime)).status, 502, 'no primary-key .sig for S′');
    assert.equal((await mirror.get(`/v2/req/demo/app/referrers/${sPrime}`)).status, 502, 'no referrer for S′');
    // Under warn S′ may be served, but only ever signed by the unverified key.
    const warned = await sigOf('warn', 'demo/app', sPrime);
    assert.equal(warned.status, 200);
    assert.deepEqual(await orgSigners('warn', 'demo/app', (await warned.json()) as Manifest), ['unverified', 'unverified']);
  });

  test('finding 5: verify: require without trust.cosignKeys does not open', async () => {
    await assert.rejects(
      startMirror({ repositories: [{ name: 'bare', format: 'oci', upstream: registry.url, verify: 'require' }] }),
      /Repository "bare" has verify: require but no trust\.cosignKeys: pin the upstream's cosign keys, or use verify: warn/,
    );
  });

  test('finding 5/7: warn without cosignKeys serves with anchor none, its .sig and referrer signed by the unverified key only', async () => {
    const res = await manifest('open', 'demo/app', 'v1');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), m);
    assert.equal(res.headers.get('x-countersign-verification'), 'verified; by=oci-manifest; anchor=none');
    const sig = (await (await sigOf('open', 'demo/app', m)).json()) as Manifest;
    assert.deepEqual(await orgSigners('open', 'demo/app', sig), ['unverified', 'unverified']);
    const referrers = (await (await mirror.get(`/v2/open/demo/app/referrers/${m}`)).json()) as { manifests: Descriptor[] };
    assert.equal(referrers.manifests.length, 1);
    const referrer = (await (await manifest('open', 'demo/app', referrers.manifests[0]!.digest)).json()) as Manifest;
    assert.deepEqual(await orgSigners('open', 'demo/app', referrer), ['unverified', 'unverified']);
    // Positive control: the same manifest through the pinned repository is primary-signed (finding 2 test), and the setup says which key.
    const setup = await (await mirror.get('/open/-/setup')).text();
    assert.match(setup, /verify: warn: .* is served signed by the\n# organisation's UNVERIFIED key/);
    assert.ok(setup.includes(`${mirror.url}/-/keys/cosign-unverified.pub`));
    assert.ok(!(await (await mirror.get('/req/-/setup')).text()).includes('cosign-unverified.pub'));
  });

  test('finding 6: a tag moved back to an older-signed manifest is a rollback; re-signing it makes the move back acceptable', async () => {
    const first = await manifest('rel', 'demo/rel', 'rel');
    assert.equal(first.status, 200, await first.clone().text());
    assert.equal(first.headers.get('docker-content-digest'), a);
    await retag('demo/rel', b, 'rel');
    mirror.advanceClock(TTL_MS + 1);
    const moved = await manifest('rel', 'demo/rel', 'rel');
    assert.equal(moved.headers.get('docker-content-digest'), b, 'a newer signed manifest is taken');
    assert.equal(moved.headers.get('x-countersign-stale'), null);

    await retag('demo/rel', a, 'rel');
    mirror.advanceClock(TTL_MS + 1);
    const back = await manifest('rel', 'demo/rel', 'rel');
    assert.equal(back.status, 200);
    assert.equal(back.headers.get('docker-content-digest'), b, 'the older signed manifest is refused; the newer stays served');
    assert.equal(back.headers.get('x-countersign-stale'), 'rollback');

    // The publisher re-signs A now: a deliberate move back.
    await signer.sign(`${registry.backendHost}/demo/rel@${a}`, upstreamKey, { annotations: { timestamp: '1700000200' } });
    mirror.advanceClock(TTL_MS + 1);
    const resigned = await manifest('rel', 'demo/rel', 'rel');
    assert.equal(resigned.headers.get('docker-content-digest'), a);
    assert.equal(resigned.headers.get('x-countersign-stale'), null);
    assert.deepEqual(await orgSigners('rel', 'demo/rel', (await (await sigOf('rel', 'demo/rel', a)).json()) as Manifest), ['primary', 'primary', 'other', 'other']);
  });
});
