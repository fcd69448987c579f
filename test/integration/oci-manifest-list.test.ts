/**
 * A Docker manifest list (application/vnd.docker.distribution.manifest.list.v2+json) of Docker
 * schema 2 images, pushed to Debian's docker-registry with its push API, pulled through the
 * mirror: the list keeps its media type and digest, each child and its blobs are served, and the
 * list and every child get a cosign signature by the org key. skopeo and cosign pull and verify
 * it in test/e2e/oci-manifest-list.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DOCKER_LIST, DOCKER_MANIFEST, type PushedList } from '../helpers/docker-manifest-list.js';
import { startFixtureRegistry, type FixtureRegistry } from '../helpers/oci-fixture-registry.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const ALL_TYPES = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(', ');

interface Descriptor { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }
interface Manifest { mediaType?: string; config: Descriptor; layers: Descriptor[]; manifests?: (Descriptor & { platform?: { architecture: string } })[]; subject?: Descriptor }

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('Docker manifest list through the mirror', () => {
  let registry: FixtureRegistry;
  let mirror: RunningMirror;
  let pushed: PushedList;

  before(async () => {
    registry = await startFixtureRegistry();
    pushed = await registry.pushDockerList('demo/list', 'multi', [
      { os: 'linux', architecture: 'amd64', files: { 'arch.txt': 'amd64\n' } },
      { os: 'linux', architecture: 'arm64', files: { 'arch.txt': 'arm64\n' } },
    ]);
    // No pinned cosign keys: warn, so the unverified org key signs.
    mirror = await startMirror({ repositories: [{ name: 'hub', format: 'oci', upstream: registry.url, verify: 'warn' }] });
  });
  after(async () => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
  });

  const get = (ref: string, accept = ALL_TYPES) => mirror.get(`/v2/hub/demo/list/manifests/${ref}`, { headers: { accept } });

  test('the fixture registry holds a Docker manifest list of Docker schema 2 images', async () => {
    const res = await fetch(`http://${registry.backendHost}/v2/demo/list/manifests/multi`, { headers: { accept: ALL_TYPES } });
    assert.equal(res.headers.get('content-type'), DOCKER_LIST);
    assert.equal(res.headers.get('docker-content-digest'), pushed.digest);
    const list = (await res.json()) as Manifest;
    assert.deepEqual(list.manifests?.map((m) => m.mediaType), [DOCKER_MANIFEST, DOCKER_MANIFEST]);
  });

  test('by tag and by digest: the list bytes, media type and digest as pushed', async () => {
    for (const [ref, accept] of [['multi', ALL_TYPES], ['multi', DOCKER_LIST], [pushed.digest, ALL_TYPES]] as const) {
      const res = await get(ref, accept);
      assert.equal(res.status, 200, `${ref} (${accept})`);
      assert.equal(res.headers.get('content-type'), DOCKER_LIST);
      assert.equal(res.headers.get('docker-content-digest'), pushed.digest);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), pushed.bytes);
    }
  });

  test('each child manifest and its config and layer are served, checked against their digests', async () => {
    for (const child of pushed.children) {
      const res = await get(child.digest);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), DOCKER_MANIFEST);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(sha256(bytes), child.digest);
      const m = JSON.parse(bytes.toString()) as Manifest;
      assert.equal(m.mediaType, DOCKER_MANIFEST);
      for (const d of [m.config, ...m.layers]) {
        const blob = await mirror.get(`/v2/hub/demo/list/blobs/${d.digest}`);
        assert.equal(blob.status, 200);
        assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), d.digest);
      }
    }
  });

  test('sha256-<hex>.sig for the list and each child: a cosign signature by the org key over that digest', async () => {
    const orgKey = createPublicKey(mirror.app.keys.cosignPublicPem('unverified'));
    for (const digest of [pushed.digest, ...pushed.children.map((c) => c.digest)]) {
      const res = await get(`sha256-${digest.slice('sha256:'.length)}.sig`);
      assert.equal(res.status, 200, digest);
      assert.equal(res.headers.get('content-type'), OCI_MANIFEST);
      const sig = (await res.json()) as Manifest;
      assert.ok(sig.layers.length >= 1);
      for (const layer of sig.layers) {
        const payload = Buffer.from(await (await mirror.get(`/v2/hub/demo/list/blobs/${layer.digest}`)).arrayBuffer());
        const claims = JSON.parse(payload.toString()) as { critical: { image: { 'docker-manifest-digest': string } } };
        assert.equal(claims.critical.image['docker-manifest-digest'], digest);
        const signature = Buffer.from(layer.annotations!['dev.cosignproject.cosign/signature']!, 'base64');
        assert.ok(verify('sha256', payload, orgKey, signature));
      }
    }
  });

  test('the referrers API names the list by its Docker media type as the signature\'s subject', async () => {
    const res = await mirror.get(`/v2/hub/demo/list/referrers/${pushed.digest}`);
    assert.equal(res.status, 200);
    const idx = (await res.json()) as Manifest;
    const referrer = (await (await get(idx.manifests![0]!.digest)).json()) as Manifest;
    assert.deepEqual(referrer.subject, { mediaType: DOCKER_LIST, size: pushed.bytes.byteLength, digest: pushed.digest });
  });
});
