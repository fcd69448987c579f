/**
 * `trust.cosignKeys`: the mirror checks the upstream's own cosign signatures (made here by the
 * real `cosign sign --key`, pushed into a real distribution registry) before it serves a
 * manifest, and keeps the verified ones in the `sha256-<hex>.sig` it serves next to the org's.
 * The real cosign verifying both through the mirror is in test/e2e/oci-upstream-signatures.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CosignSigner, type CosignKeyPair } from '../helpers/cosign-signer.js';
import { startFixtureRegistry, type FixtureRegistry } from '../helpers/oci-fixture-registry.js';
import { OciLayout } from '../helpers/oci-image.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const ALL_TYPES = [OCI_INDEX, OCI_MANIFEST, 'application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.docker.distribution.manifest.v2+json'].join(', ');
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const SIGNATURE = 'dev.cosignproject.cosign/signature';
// Entries expire only when a test advances the mirror's clock past this (mirror.advanceClock), never by
// real time however loaded the machine: a warm request always finds the cold one's entry fresh.
const TTL_MS = 60_000;

interface Descriptor { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }
interface Manifest { config: Descriptor; layers: Descriptor[]; manifests?: Descriptor[] }
interface DistributionError { code: string; message: string; detail: Record<string, unknown> }

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe('oci trust.cosignKeys: the upstream cosign signatures', () => {
  let registry: FixtureRegistry;
  let mirror: RunningMirror;
  let work: string;
  let upstreamKey: CosignKeyPair;
  let signer: CosignSigner;
  let otherKey: CosignKeyPair;
  /** Top manifest digest of each image pushed, by image name. */
  const digests = new Map<string, string>();

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'countersign-oci-upsig-'));
    registry = await startFixtureRegistry();
    signer = new CosignSigner(work);
    upstreamKey = await signer.generateKeyPair('upstream');
    otherKey = await signer.generateKeyPair('other');

    const layout = new OciLayout(join(work, 'layout'));
    const one = (tag: string, text: string) => layout.add({ tag, platforms: [{ os: 'linux', architecture: 'amd64', files: { 'hello.txt': `${text}\n` } }] });
    const two = (tag: string, text: string) => layout.add({
      tag,
      platforms: [
        { os: 'linux', architecture: 'amd64', files: { 'arch.txt': `${text} amd64\n` } },
        { os: 'linux', architecture: 'arm64', files: { 'arch.txt': `${text} arm64\n` } },
      ],
    });
    const images: [name: string, tag: string, make: () => Promise<string>, all?: boolean][] = [
      ['demo/signed', 'v1', () => one('signed', 'signed')],
      ['demo/unsigned', 'v1', () => one('unsigned', 'unsigned')],
      ['demo/wrongkey', 'v1', () => one('wrongkey', 'wrong key')],
      ['demo/baddigest', 'v1', () => one('baddigest', 'bad digest')],
      ['demo/tampered', 'v1', () => one('tampered', 'tampered')],
      ['demo/kept', 'v1', () => one('kept', 'kept')],
      ['demo/mixed', 'v1', () => one('mixed', 'mixed')],
      ['demo/moving', 'v1', () => one('moving', 'moving')],
      ['demo/multi', 'v1', () => two('multi', 'multi'), true],
      ['demo/recursive', 'v1', () => two('recursive', 'recursive'), true],
    ];
    for (const [name, tag, make, all] of images) {
      const layoutTag = name.split('/')[1]!;
      digests.set(name, await make());
      await registry.push(layout.dir, layoutTag, name, all ? { all: true } : {});
      // The fixture layout tag names the image; the registry tag is v1.
      const bytes = await upstreamManifest(name, layoutTag);
      assert.equal(`sha256:${sha256(bytes)}`, digests.get(name));
      const put = await fetch(`http://${registry.backendHost}/v2/${name}/manifests/${tag}`, {
        method: 'PUT', headers: { 'content-type': all ? OCI_INDEX : OCI_MANIFEST }, body: bytes,
      });
      assert.equal(put.status, 201);
    }
    const ref = (name: string) => `${registry.backendHost}/${name}@${digests.get(name)}`;
    for (const name of ['demo/signed', 'demo/tampered', 'demo/kept', 'demo/multi']) await signer.sign(ref(name), upstreamKey);
    await signer.sign(ref('demo/recursive'), upstreamKey, { recursive: true });
    await signer.sign(ref('demo/wrongkey'), otherKey);
    // An unsigned image next to demo/moving:v1, to move that tag to.
    await one('moving-v2', 'moving v2');
    await registry.push(layout.dir, 'moving-v2', 'demo/moving');
    await signer.sign(ref('demo/moving'), upstreamKey);
    await signer.sign(ref('demo/mixed'), otherKey);
    await signer.sign(ref('demo/mixed'), upstreamKey);
    // Signed by the right key, but the payload names another manifest (a signature moved from another image).
    const moved = join(work, 'moved-payload.json');
    await writeFile(moved, JSON.stringify({
      critical: { identity: { 'docker-reference': `${registry.backendHost}/demo/baddigest` }, image: { 'docker-manifest-digest': digests.get('demo/signed') }, type: 'cosign container image signature' },
      optional: null,
    }));
    await signer.sign(ref('demo/baddigest'), upstreamKey, { payload: moved });

    // The key file relative to the config directory, like the other trust files.
    const dataDir = await makeDataDir();
    await copyFile(upstreamKey.pub, join(dataDir, 'upstream-cosign.pub'));
    mirror = await startMirror({
      dataDir,
      repositories: [
        { name: 'req', format: 'oci', upstream: registry.url, verify: 'require', retries: 0, trust: { cosignKeys: ['upstream-cosign.pub'] } },
        { name: 'warn', format: 'oci', upstream: registry.url, verify: 'warn', retries: 0, trust: { cosignKeys: upstreamKey.pub } },
        // Without pinned keys only warn opens (issue 9): digest checks, signed by the unverified key.
        { name: 'plain', format: 'oci', upstream: registry.url, verify: 'warn', retries: 0 },
        { name: 'moving', format: 'oci', upstream: registry.url, verify: 'require', retries: 0, metadataTtl: `${TTL_MS}ms`, trust: { cosignKeys: [upstreamKey.pub] } },
      ],
    });
  });
  after(async () => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function upstreamManifest(name: string, ref: string): Promise<Buffer> {
    const res = await fetch(`http://${registry.backendHost}/v2/${name}/manifests/${ref}`, { headers: { accept: ALL_TYPES } });
    assert.equal(res.status, 200, `upstream ${name}:${ref}`);
    return Buffer.from(await res.arrayBuffer());
  }
  const manifest = (repo: string, name: string, ref: string) => mirror.get(`/v2/${repo}/${name}/manifests/${ref}`, { headers: { accept: ALL_TYPES } });
  const sigOf = (repo: string, name: string, digest: string) => manifest(repo, name, `sha256-${digest.slice('sha256:'.length)}.sig`);
  const blob = async (repo: string, name: string, digest: string): Promise<Buffer> => {
    const res = await mirror.get(`/v2/${repo}/${name}/blobs/${digest}`);
    assert.equal(res.status, 200, `blob ${digest}`);
    return Buffer.from(await res.arrayBuffer());
  };
  const refused = async (res: Response): Promise<DistributionError> => {
    assert.equal(res.status, 502);
    const { errors } = (await res.json()) as { errors: DistributionError[] };
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, 'MANIFEST_INVALID');
    assert.equal(errors[0]!.detail.code, 'VERIFICATION_FAILED');
    return errors[0]!;
  };
  const stored = (repo: string, path: string) => mirror.app.store.index.getObject(repo, path);

  test('require: a signed image is served by tag and by digest, verified by the upstream key', async () => {
    const digest = digests.get('demo/signed')!;
    for (const ref of ['v1', digest]) {
      const res = await manifest('req', 'demo/signed', ref);
      assert.equal(res.status, 200, `${ref}: ${await res.clone().text()}`);
      assert.equal(res.headers.get('docker-content-digest'), digest);
      assert.match(res.headers.get('x-countersign-verification') ?? '', /^verified; by=cosign:SHA256:/);
      const m = (await res.json()) as Manifest;
      for (const d of [m.config, ...m.layers]) assert.equal(`sha256:${sha256(await blob('req', 'demo/signed', d.digest))}`, d.digest);
    }
    // The verification record names the upstream signature kept beside the manifest, and the identity it claims.
    const kept = stored('req', `demo/signed/manifests/${digest}`)?.verification.upstreamSignature;
    assert.ok(kept, 'the record names the upstream signature');
    assert.ok(stored('req', `demo/signed/-/upstream-signature/sha256:${kept.sha256}`), 'the upstream signature manifest is stored, as signature material');
    assert.equal(stored('req', `demo/signed/manifests/sha256:${kept.sha256}`), undefined, 'never as a manifest the mirror would serve');
    assert.deepEqual(kept.verified.map((l) => l.identity), [`${registry.backendHost}/demo/signed`]);
    assert.match(kept.verified[0]!.keyId, /^SHA256:/);
  });

  test('require: an unsigned image is refused with a distribution error and nothing is stored', async () => {
    const digest = digests.get('demo/unsigned')!;
    const byTag = await refused(await manifest('req', 'demo/unsigned', 'v1'));
    assert.match(byTag.message, /no cosign signature for sha256:[0-9a-f]{64} \(sha256-[0-9a-f]{64}\.sig: HTTP 404\)/);
    assert.equal(byTag.detail.object, 'demo/unsigned/manifests/v1');
    const byDigest = await refused(await manifest('req', 'demo/unsigned', digest));
    assert.match(byDigest.message, /no cosign signature/);
    assert.equal(stored('req', 'demo/unsigned/manifests/v1'), undefined);
    assert.equal(stored('req', `demo/unsigned/manifests/${digest}`), undefined);
    // Nothing was served, so the mirror signs nothing for it either.
    assert.equal((await sigOf('req', 'demo/unsigned', digest)).status, 502);
  });

  test('require: a signature by another key is refused', async () => {
    const err = await refused(await manifest('req', 'demo/wrongkey', 'v1'));
    assert.match(err.message, /no cosign signature in the upstream sha256-[0-9a-f]{64}\.sig verifies: layer 0 .*verifies with none of the 1 key\(s\) in trust\.cosignKeys/);
    assert.equal(stored('req', 'demo/wrongkey/manifests/v1'), undefined);
  });

  test('require: a signature whose payload names another manifest is refused', async () => {
    const err = await refused(await manifest('req', 'demo/baddigest', digests.get('demo/baddigest')!));
    assert.match(err.message, new RegExp(`the payload signs "${digests.get('demo/signed')}", not ${digests.get('demo/baddigest')}`));
  });

  test('require: a payload blob that does not match its descriptor is refused', async () => {
    registry.setMode('tamper-blobs');
    try {
      const err = await refused(await manifest('req', 'demo/tampered', 'v1'));
      assert.match(err.message, /the payload blob \(sha256:[0-9a-f]{64}, \d+ bytes\) does not match its descriptor/);
    } finally {
      registry.setMode('normal');
    }
    assert.equal(stored('req', 'demo/tampered/manifests/v1'), undefined);
    assert.equal((await manifest('req', 'demo/tampered', 'v1')).status, 200, 'the genuine signature verifies afterwards');
  });

  test('require: a tag moved upstream to an unsigned manifest keeps serving the last verified one, marked stale', async () => {
    const first = await manifest('moving', 'demo/moving', 'v1');
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('docker-content-digest'), digests.get('demo/moving'));
    const unsigned = await upstreamManifest('demo/moving', 'moving-v2');
    const put = await fetch(`http://${registry.backendHost}/v2/demo/moving/manifests/v1`, { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: unsigned });
    assert.equal(put.status, 201);
    mirror.advanceClock(TTL_MS + 1);
    const after = await manifest('moving', 'demo/moving', 'v1');
    assert.equal(after.status, 200);
    assert.equal(after.headers.get('docker-content-digest'), digests.get('demo/moving'));
    assert.equal(after.headers.get('x-countersign-stale'), 'verification-failed');
    assert.equal(stored('moving', 'demo/moving/manifests/v1')?.sha256, digests.get('demo/moving')!.slice(7));
  });

  test('warn: an unsigned image is served and marked unverified; a signed one verified', async () => {
    const res = await manifest('warn', 'demo/unsigned', 'v1');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), digests.get('demo/unsigned'));
    assert.equal(res.headers.get('x-countersign-verification'), 'unverified; mode=warn');
    assert.match(stored('warn', 'demo/unsigned/manifests/v1')?.verification.reason ?? '', /no cosign signature/);
    const signed = await manifest('warn', 'demo/signed', 'v1');
    assert.match(signed.headers.get('x-countersign-verification') ?? '', /^verified; by=cosign:/);
    // The org still signs what it serves under warn.
    assert.equal((await sigOf('warn', 'demo/unsigned', digests.get('demo/unsigned')!)).status, 200);
  });

  test('without cosignKeys (warn only) an unsigned image is served on digest checks, anchored by nothing pinned', async () => {
    const res = await manifest('plain', 'demo/unsigned', 'v1');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-countersign-verification'), 'verified; by=oci-manifest; anchor=none');
  });

  test('the served .sig holds the org layers and the upstream layer verbatim; every blob is served; stable digest', async () => {
    const digest = digests.get('demo/signed')!;
    const upstreamSig = JSON.parse((await upstreamManifest('demo/signed', `sha256-${digest.slice(7)}.sig`)).toString()) as Manifest;
    const res = await sigOf('req', 'demo/signed', digest);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), OCI_MANIFEST);
    const bytes = Buffer.from(await res.arrayBuffer());
    const sig = JSON.parse(bytes.toString()) as Manifest;
    assert.equal(sig.layers.length, 3, 'two org identities and the upstream signature');
    assert.deepEqual(sig.layers[2], upstreamSig.layers[0], 'the upstream descriptor verbatim');
    const orgKey = createPublicKey(mirror.app.keys.cosignPublicPem());
    const upKey = createPublicKey(upstreamKey.pubPem);
    for (const [i, layer] of sig.layers.entries()) {
      assert.equal(layer.mediaType, SIMPLE_SIGNING);
      const payload = await blob('req', 'demo/signed', layer.digest);
      assert.equal(`sha256:${sha256(payload)}`, layer.digest);
      assert.equal((JSON.parse(payload.toString()) as { critical: { image: { 'docker-manifest-digest': string } } }).critical.image['docker-manifest-digest'], digest);
      const signature = Buffer.from(layer.annotations![SIGNATURE]!, 'base64');
      assert.ok(verify('sha256', payload, i < 2 ? orgKey : upKey, signature), `layer ${i} by the ${i < 2 ? 'org' : 'upstream'} key`);
    }
    const config = JSON.parse((await blob('req', 'demo/signed', sig.config.digest)).toString()) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(config.rootfs.diff_ids, sig.layers.map((l) => l.digest));
    const again = await sigOf('req', 'demo/signed', digest);
    assert.equal(again.headers.get('docker-content-digest'), `sha256:${sha256(bytes)}`);
    // The referrer form carries the same layers.
    const referrers = (await (await mirror.get(`/v2/req/demo/signed/referrers/${digest}`)).json()) as { manifests: Descriptor[] };
    const referrer = (await (await manifest('req', 'demo/signed', referrers.manifests[0]!.digest)).json()) as Manifest;
    assert.deepEqual(referrer.layers, sig.layers);
  });

  test('of a .sig signed by several keys only the layers that verify are kept', async () => {
    const digest = digests.get('demo/mixed')!;
    const upstreamSig = JSON.parse((await upstreamManifest('demo/mixed', `sha256-${digest.slice(7)}.sig`)).toString()) as Manifest;
    assert.equal(upstreamSig.layers.length, 2);
    const res = await manifest('req', 'demo/mixed', digest);
    assert.equal(res.status, 200);
    const sig = (await (await sigOf('req', 'demo/mixed', digest)).json()) as Manifest;
    assert.deepEqual(sig.layers.slice(2), [upstreamSig.layers[1]], 'the other key\'s layer is left out');
  });

  test('the upstream signature is kept as verified when the upstream re-signs or deletes it', async () => {
    const digest = digests.get('demo/kept')!;
    const sigTag = `sha256-${digest.slice(7)}.sig`;
    const first = (await (await sigOf('req', 'demo/kept', digest)).json()) as Manifest;
    const upstreamLayer = first.layers[2]!;
    // Another signer signs too (cosign appends a layer: a new manifest at the .sig tag), then the
    // upstream drops its signature manifest and the payload blob.
    await signer.sign(`${registry.backendHost}/demo/kept@${digest}`, otherKey);
    const upstreamSigBytes = await upstreamManifest('demo/kept', sigTag);
    assert.equal((JSON.parse(upstreamSigBytes.toString()) as Manifest).layers.length, 2);
    assert.deepEqual(((await (await sigOf('req', 'demo/kept', digest)).json()) as Manifest).layers, first.layers, 'the signature verified with the manifest');
    assert.equal((await fetch(`http://${registry.backendHost}/v2/demo/kept/manifests/sha256:${sha256(upstreamSigBytes)}`, { method: 'DELETE' })).status, 202);
    assert.equal((await fetch(`http://${registry.backendHost}/v2/demo/kept/blobs/${upstreamLayer.digest}`, { method: 'DELETE' })).status, 202);
    registry.resetCounts();
    const again = await sigOf('req', 'demo/kept', digest);
    assert.deepEqual(((await again.json()) as Manifest).layers, first.layers);
    const payload = await mirror.get(`/v2/req/demo/kept/blobs/${upstreamLayer.digest}`);
    assert.equal(payload.status, 200);
    assert.equal(`sha256:${sha256(Buffer.from(await payload.arrayBuffer()))}`, upstreamLayer.digest);
    assert.equal(registry.requests(), 0, 'served from what the mirror stored with the verified manifest');
  });

  test('an index signed without --recursive vouches for its children; their .sig holds only the org layers', async () => {
    const index = await manifest('req', 'demo/multi', 'v1');
    assert.equal(index.status, 200);
    const idx = (await index.json()) as Manifest;
    const indexSig = (await (await sigOf('req', 'demo/multi', digests.get('demo/multi')!)).json()) as Manifest;
    assert.equal(indexSig.layers.length, 3);
    for (const child of idx.manifests!) {
      const res = await manifest('req', 'demo/multi', child.digest);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('x-countersign-verification') ?? '', /^verified; by=cosign-vouched:demo\/multi\/manifests\//);
      const childSig = (await (await sigOf('req', 'demo/multi', child.digest)).json()) as Manifest;
      assert.equal(childSig.layers.length, 2);
    }
  });

  test('a child no verified index names needs its own signature', async () => {
    const idx = JSON.parse((await upstreamManifest('demo/multi', 'v1')).toString()) as Manifest;
    // A mirror that has not seen demo/multi's signed index yet: its (unsigned) children are refused on their own.
    const fresh = await startMirror({
      repositories: [{ name: 'req', format: 'oci', upstream: registry.url, verify: 'require', retries: 0, trust: { cosignKeys: [upstreamKey.pub] } }],
    });
    try {
      const child = idx.manifests![0]!.digest;
      const get = (ref: string) => fresh.get(`/v2/req/demo/multi/manifests/${ref}`, { headers: { accept: ALL_TYPES } });
      const res = await get(child);
      assert.equal(res.status, 502);
      assert.match(await res.text(), /no cosign signature for/);
      assert.equal((await get('v1')).status, 200);
      assert.equal((await get(child)).status, 200, 'vouched for once the signed index is verified');
    } finally {
      await fresh.close();
      await removeDir(fresh.dataDir);
    }
  });

  test('an index signed with --recursive: each child keeps its own upstream signature', async () => {
    const idx = (await (await manifest('req', 'demo/recursive', 'v1')).json()) as Manifest;
    for (const child of idx.manifests!) {
      const res = await manifest('req', 'demo/recursive', child.digest);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('x-countersign-verification') ?? '', /^verified; by=cosign:SHA256:/);
      const childSig = (await (await sigOf('req', 'demo/recursive', child.digest)).json()) as Manifest;
      assert.equal(childSig.layers.length, 3);
      const payload = JSON.parse((await blob('req', 'demo/recursive', childSig.layers[2]!.digest)).toString()) as { critical: { image: { 'docker-manifest-digest': string } } };
      assert.equal(payload.critical.image['docker-manifest-digest'], child.digest);
    }
  });

  test('a cosignKeys file that holds no public key fails the start', async () => {
    const bad = join(work, 'not-a-key.pub');
    await writeFile(bad, 'hello\n');
    await assert.rejects(
      startMirror({ repositories: [{ name: 'bad', format: 'oci', upstream: registry.url, trust: { cosignKeys: [bad] } }] }),
      /trust\.cosignKeys: .*not-a-key\.pub holds no PEM public key/,
    );
    await assert.rejects(
      startMirror({ repositories: [{ name: 'bad', format: 'oci', upstream: registry.url, trust: { cosignKeys: [upstreamKey.key] } }] }),
      /trust\.cosignKeys: .*"ENCRYPTED SIGSTORE PRIVATE KEY" PEM block, not a public key/,
    );
  });
});
