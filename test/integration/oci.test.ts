/**
 * The oci format against a real CNCF distribution registry (Debian's docker-registry)
 * filled by skopeo with images the test builds: the distribution API pull path, the
 * STYLE.md scenario matrix, registry token auth, and the cosign signatures the mirror
 * makes for every manifest digest it serves (checked here byte by byte; the real cosign
 * and skopeo check them in test/e2e/oci.test.ts).
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AUTH_PASSWORD, AUTH_USER, startFixtureRegistry, type FixtureRegistry } from '../helpers/oci-fixture-registry.js';
import { OciLayout } from '../helpers/oci-image.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

// Entries expire only when a test advances the mirror's clock past this (mirror.advanceClock), never by
// real time however loaded the machine: a warm request always finds the cold one's entry fresh.
const TTL_MS = 60_000;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const ALL_TYPES = [OCI_INDEX, OCI_MANIFEST, 'application/vnd.docker.distribution.manifest.list.v2+json', DOCKER_MANIFEST].join(', ');

interface Descriptor { mediaType: string; digest: string; size: number; annotations?: Record<string, string>; artifactType?: string }
interface Manifest { mediaType?: string; config: Descriptor; layers: Descriptor[]; manifests?: Descriptor[]; subject?: Descriptor }

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Reads a body to its end, or to where the server cut the connection. */
async function readUntilCut(res: Response): Promise<{ bytes: number; cut: boolean }> {
  const reader = res.body!.getReader();
  let bytes = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { bytes, cut: false };
      bytes += value.byteLength;
    }
  } catch {
    return { bytes, cut: true };
  }
}

describe('oci repository', () => {
  let registry: FixtureRegistry;
  let mirror: RunningMirror;
  let layoutDir: string;
  let mirrorHost: string;

  before(async () => {
    registry = await startFixtureRegistry();
    layoutDir = await mkdtemp(join(tmpdir(), 'countersign-oci-layout-'));
    const layout = new OciLayout(layoutDir);
    await layout.add({ tag: 'v1', platforms: [{ os: 'linux', architecture: 'amd64', files: { 'hello.txt': 'hello v1\n' } }] });
    await layout.add({ tag: 'v2', platforms: [{ os: 'linux', architecture: 'amd64', files: { 'hello.txt': 'hello v2\n' } }] });
    await layout.add({
      tag: 'multi',
      platforms: [
        { os: 'linux', architecture: 'amd64', files: { 'arch.txt': 'amd64\n' } },
        { os: 'linux', architecture: 'arm64', files: { 'arch.txt': 'arm64\n' } },
      ],
    });
    await layout.add({ tag: 'blobby', platforms: [{ os: 'linux', architecture: 'amd64', files: { 'big.bin': randomBytes(600_000) } }] });
    await registry.push(layoutDir, 'v1', 'demo/app');
    await registry.push(layoutDir, 'v2', 'demo/app');
    await registry.push(layoutDir, 'multi', 'demo/multi', { all: true });
    await registry.push(layoutDir, 'v1', 'demo/docker', { format: 'v2s2' });
    await registry.push(layoutDir, 'blobby', 'demo/blobby');
    await registry.push(layoutDir, 'blobby', 'demo/streamed');
    await registry.push(layoutDir, 'blobby', 'demo/tampered');
    await registry.push(layoutDir, 'blobby', 'demo/abandoned');
    await registry.push(layoutDir, 'v1', 'library/alpine');
    mirror = await startMirror({
      repositories: [
        // No upstream cosign keys here (pinned trust is oci-upstream-signatures/oci-trust): warn, so signed by the unverified key.
        { name: 'hub', format: 'oci', upstream: registry.url, verify: 'warn', metadataTtl: `${TTL_MS}ms`, retries: 0 },
        { name: 'lib', format: 'oci', upstream: registry.url, verify: 'warn', trust: { officialPrefix: 'library' } },
        { name: 'private', format: 'oci', upstream: registry.authUrl, verify: 'warn', credentials: { username: AUTH_USER, password: AUTH_PASSWORD } },
      ],
    });
    mirrorHost = new URL(mirror.url).host;
  });
  after(async () => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
    if (layoutDir) await rm(layoutDir, { recursive: true, force: true });
  });

  const manifest = (repo: string, name: string, ref: string, accept = ALL_TYPES, method = 'GET') =>
    mirror.get(`/v2/${repo}/${name}/manifests/${ref}`, { method, headers: { accept } });
  const upstreamDigest = async (name: string, ref: string, accept = ALL_TYPES): Promise<string> => {
    const res = await fetch(`http://${registry.backendHost}/v2/${name}/manifests/${ref}`, { headers: { accept } });
    assert.equal(res.status, 200);
    return res.headers.get('docker-content-digest')!;
  };
  const errorsOf = async (res: Response): Promise<{ code: string; message: string; detail: Record<string, unknown> }[]> =>
    ((await res.json()) as { errors: { code: string; message: string; detail: Record<string, unknown> }[] }).errors;

  test('GET /v2/ answers the API version check', async () => {
    const res = await mirror.get('/v2/');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(await res.json(), {});
  });

  test('cold tag: the upstream manifest bytes, its digest and media type; blobs verified and served', async () => {
    registry.resetCounts();
    const res = await manifest('hub', 'demo/app', 'v1');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache'), 'MISS');
    assert.equal(res.headers.get('content-type'), OCI_MANIFEST);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.headers.get('docker-content-digest'), `sha256:${sha256(body)}`);
    assert.equal(res.headers.get('docker-content-digest'), await upstreamDigest('demo/app', 'v1'));
    const m = JSON.parse(body.toString()) as Manifest;
    for (const d of [m.config, ...m.layers]) {
      const blob = await mirror.get(`/v2/hub/demo/app/blobs/${d.digest}`);
      assert.equal(blob.status, 200);
      const bytes = Buffer.from(await blob.arrayBuffer());
      assert.equal(`sha256:${sha256(bytes)}`, d.digest);
      assert.equal(blob.headers.get('docker-content-digest'), d.digest);
    }
    const head = await manifest('hub', 'demo/app', 'v1', ALL_TYPES, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('docker-content-digest'), res.headers.get('docker-content-digest'));
    assert.equal(head.headers.get('content-length'), String(body.byteLength));
  });

  test('warm: tag within metadataTtl, blobs and manifests by digest make no upstream request', async () => {
    const res = await manifest('hub', 'demo/app', 'v1');
    const m = (await res.json()) as Manifest;
    const digest = res.headers.get('docker-content-digest')!;
    await manifest('hub', 'demo/app', digest);
    registry.resetCounts();
    const again = await manifest('hub', 'demo/app', 'v1');
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('x-cache'), 'HIT');
    assert.equal((await manifest('hub', 'demo/app', digest)).headers.get('x-cache'), 'HIT');
    for (const d of [m.config, ...m.layers]) assert.equal((await mirror.get(`/v2/hub/demo/app/blobs/${d.digest}`)).headers.get('x-cache'), 'HIT');
    assert.equal(registry.requests(), 0);
  });

  test('tag revalidation: after metadataTtl the upstream is asked again and a moved tag is followed', async () => {
    const first = await manifest('hub', 'demo/app', 'v1');
    await first.arrayBuffer();
    mirror.advanceClock(TTL_MS + 1);
    registry.resetCounts();
    const same = await manifest('hub', 'demo/app', 'v1');
    await same.arrayBuffer();
    // A HEAD whose Docker-Content-Digest names the stored manifest: no GET (registries do not count HEADs as pulls).
    assert.equal(registry.requests((p, m) => p.endsWith('/manifests/v1') && m === 'HEAD'), 1);
    assert.equal(registry.requests((p) => p.endsWith('/manifests/v1')), 1);
    assert.equal(same.headers.get('x-cache'), 'REVALIDATED');
    assert.equal(same.headers.get('docker-content-digest'), first.headers.get('docker-content-digest'));

    // Re-tag v1 → the v2 manifest upstream.
    const v2bytes = Buffer.from(await (await fetch(`http://${registry.backendHost}/v2/demo/app/manifests/v2`, { headers: { accept: ALL_TYPES } })).arrayBuffer());
    assert.equal((await fetch(`http://${registry.backendHost}/v2/demo/app/manifests/v1`, { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: v2bytes })).status, 201);
    mirror.advanceClock(TTL_MS + 1);
    registry.resetCounts();
    const after = await manifest('hub', 'demo/app', 'v1');
    assert.equal(after.headers.get('docker-content-digest'), `sha256:${sha256(v2bytes)}`);
    assert.equal(after.headers.get('x-cache'), 'MISS');
    assert.deepEqual(['HEAD', 'GET'].map((method) => registry.requests((p, m) => p.endsWith('/manifests/v1') && m === method)), [1, 1]);
  });

  test('upstream down: the last tag → digest mapping is served stale; an uncached blob is a distribution error', async () => {
    const fresh = await manifest('hub', 'demo/app', 'v1');
    const digest = fresh.headers.get('docker-content-digest');
    mirror.advanceClock(TTL_MS + 1);
    registry.setMode('down');
    try {
      const stale = await manifest('hub', 'demo/app', 'v1');
      assert.equal(stale.status, 200);
      assert.equal(stale.headers.get('docker-content-digest'), digest);
      assert.equal(stale.headers.get('x-countersign-stale'), 'upstream-unavailable');
      const missing = await mirror.get(`/v2/hub/demo/app/blobs/sha256:${'0'.repeat(64)}`);
      assert.equal(missing.status, 502);
      const [err] = await errorsOf(missing);
      assert.equal(err?.code, 'UNAVAILABLE');
      assert.equal(err?.detail.code, 'UPSTREAM_UNAVAILABLE');
    } finally {
      registry.setMode('normal');
    }
  });

  test('tampered blob: a following client gets DIGEST_INVALID, or a body cut short once bytes went out; nothing stored', async () => {
    const m = (await (await manifest('hub', 'demo/docker', 'v1')).json()) as Manifest;
    const layer = m.layers[0]!;
    const blobPath = `/v2/hub/demo/docker/blobs/${layer.digest}`;
    registry.setMode('tamper-blobs');
    try {
      // The small layer arrives at once: whether any byte went out before the digest failed is a race,
      // and both answers are right; a complete body is not.
      const followed = await mirror.get(blobPath);
      if (followed.status === 200) {
        const received = await readUntilCut(followed);
        assert.ok(received.cut && received.bytes < layer.size, `${received.bytes} of ${layer.size} bytes reached the client, uncut`);
      } else {
        assert.equal(followed.status, 502);
        assert.equal((await errorsOf(followed))[0]?.code, 'DIGEST_INVALID');
      }
      // A Range request cannot follow: it waits for the verdict.
      const waited = await mirror.get(blobPath, { headers: { range: 'bytes=0-9' } });
      assert.equal(waited.status, 502);
      const [err] = await errorsOf(waited);
      assert.equal(err?.code, 'DIGEST_INVALID');
      assert.equal(mirror.app.store.index.getObject('hub', `demo/docker/blobs/${layer.digest}`), undefined);
    } finally {
      registry.setMode('normal');
    }
    const ok = await mirror.get(blobPath);
    assert.equal(ok.status, 200);
    assert.equal(`sha256:${sha256(Buffer.from(await ok.arrayBuffer()))}`, layer.digest);
  });

  test('tampered large blob: followers get 200 and most bytes, then the connection is cut before the last byte', async () => {
    const m = (await (await manifest('hub', 'demo/tampered', 'blobby')).json()) as Manifest;
    const layer = [...m.layers].sort((a, b) => b.size - a.size)[0]!;
    const key = `demo/tampered/blobs/${layer.digest}`;
    registry.setMode('tamper-blobs');
    const release = registry.holdBlobTails();
    try {
      const res = await mirror.get(`/v2/hub/${key}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('docker-content-digest'), layer.digest);
      const reader = res.body!.getReader();
      let bytes = 0;
      while (bytes < layer.size - 1024 - 1) {
        const { value, done } = await reader.read();
        assert.ok(!done, 'the body ended before the upstream finished');
        bytes += value.byteLength;
      }
      release();
      let rest: 'cut' | 'complete' = 'complete';
      try {
        for (let r = await reader.read(); !r.done; r = await reader.read()) bytes += r.value.byteLength;
      } catch {
        rest = 'cut';
      }
      assert.equal(rest, 'cut', 'a tampered body must not complete');
      assert.ok(bytes < layer.size, `${bytes} of ${layer.size} bytes reached the client`);
      assert.equal(mirror.app.store.index.getObject('hub', key), undefined);
    } finally {
      release();
      registry.setMode('normal');
    }
  });

  test('a client that leaves mid-download does not stop it: the blob is stored and served from the store next', async () => {
    const m = (await (await manifest('hub', 'demo/abandoned', 'blobby')).json()) as Manifest;
    const layer = [...m.layers].sort((a, b) => b.size - a.size)[0]!;
    const key = `demo/abandoned/blobs/${layer.digest}`;
    registry.resetCounts();
    const release = registry.holdBlobTails();
    try {
      const leaving = new AbortController();
      const res = await mirror.get(`/v2/hub/${key}`, { signal: leaving.signal });
      assert.equal(res.status, 200);
      const { value } = await res.body!.getReader().read();
      assert.ok(value && value.byteLength > 0);
      leaving.abort();
    } finally {
      release();
    }
    // The flight goes on without its client: wait for it to store the verified blob.
    for (let i = 0; i < 200 && !mirror.app.store.index.getObject('hub', key); i++) await sleep(25);
    assert.equal(mirror.app.store.index.getObject('hub', key)?.sha256, layer.digest.slice('sha256:'.length));
    const again = await mirror.get(`/v2/hub/${key}`);
    assert.equal(again.headers.get('x-cache'), 'HIT');
    assert.equal(`sha256:${sha256(Buffer.from(await again.arrayBuffer()))}`, layer.digest);
    assert.equal(registry.requests((p) => p.includes(`/blobs/${layer.digest}`)), 1);
  });

  test('cold blob: clients take the bytes while they download; the store holds it only after the digest matched', async () => {
    const m = (await (await manifest('hub', 'demo/streamed', 'blobby')).json()) as Manifest;
    const layer = [...m.layers].sort((a, b) => b.size - a.size)[0]!;
    const key = `demo/streamed/blobs/${layer.digest}`;
    assert.ok(layer.size > 4096, 'the fixture layer is large enough to hold back a tail');
    registry.resetCounts();
    const release = registry.holdBlobTails();
    let released = false;
    try {
      const [first, second] = await Promise.all([mirror.get(`/v2/hub/${key}`), mirror.get(`/v2/hub/${key}`)]);
      const readers = [first, second].map((res) => {
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-cache'), 'MISS');
        assert.equal(res.headers.get('content-length'), String(layer.size));
        return res.body!.getReader();
      });
      // Both clients receive most of the blob while the upstream still holds its last KiB.
      const got = await Promise.all(readers.map(async (r) => {
        const chunks: Uint8Array[] = [];
        let n = 0;
        while (n < layer.size - 1024 - 1) {
          const { value, done } = await r.read();
          assert.ok(!done, 'the body ended before the upstream finished');
          chunks.push(value);
          n += value.byteLength;
        }
        return { chunks, n };
      }));
      for (const g of got) assert.ok(g.n < layer.size, 'not the whole blob before the upstream finished');
      assert.equal(mirror.app.store.index.getObject('hub', key), undefined, 'stored before the digest was checked');
      release();
      released = true;
      const bodies = await Promise.all(readers.map(async (r, i) => {
        const chunks = got[i]!.chunks;
        for (;;) {
          const { value, done } = await r.read();
          if (done) break;
          chunks.push(value);
        }
        return Buffer.concat(chunks);
      }));
      for (const body of bodies) assert.equal(`sha256:${sha256(body)}`, layer.digest);
      assert.equal(registry.requests((p) => p.includes(`/blobs/${layer.digest}`)), 1);
      assert.equal(mirror.app.store.index.getObject('hub', key)?.sha256, layer.digest.slice('sha256:'.length));
    } finally {
      if (!released) release();
    }
  });

  test('concurrent pulls of one blob make one upstream fetch', async () => {
    const m = (await (await manifest('hub', 'demo/blobby', 'blobby')).json()) as Manifest;
    const layer = m.layers[0]!;
    registry.resetCounts();
    const bodies = await Promise.all(Array.from({ length: 8 }, async () => {
      const res = await mirror.get(`/v2/hub/demo/blobby/blobs/${layer.digest}`);
      assert.equal(res.status, 200);
      return sha256(Buffer.from(await res.arrayBuffer()));
    }));
    for (const b of bodies) assert.equal(`sha256:${b}`, layer.digest);
    assert.equal(registry.requests((p) => p.includes(`/blobs/${layer.digest}`)), 1);
  });

  test('Docker schema 2, OCI index and Accept negotiation per set of acceptable types', async () => {
    const docker = await manifest('hub', 'demo/docker', 'v1');
    assert.equal(docker.status, 200);
    assert.equal(docker.headers.get('content-type'), DOCKER_MANIFEST);

    const index = await manifest('hub', 'demo/multi', 'multi');
    assert.equal(index.headers.get('content-type'), OCI_INDEX);
    const idx = (await index.json()) as Manifest;
    assert.equal(idx.manifests?.length, 2);
    for (const child of idx.manifests!) {
      const res = await manifest('hub', 'demo/multi', child.digest);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), OCI_MANIFEST);
      assert.equal(`sha256:${sha256(Buffer.from(await res.arrayBuffer()))}`, child.digest);
    }
    // A client that takes no index is answered as the upstream answers it, not from the index entry.
    const narrow = await manifest('hub', 'demo/multi', 'multi', OCI_MANIFEST);
    const upstreamNarrow = await fetch(`http://${registry.backendHost}/v2/demo/multi/manifests/multi`, { headers: { accept: OCI_MANIFEST } });
    assert.equal(narrow.status, upstreamNarrow.status === 200 ? 200 : 404);
    if (narrow.status === 404) assert.equal((await errorsOf(narrow))[0]?.code, 'MANIFEST_UNKNOWN');
    assert.equal((await manifest('hub', 'demo/multi', 'multi')).headers.get('content-type'), OCI_INDEX);
  });

  test('signatures: sha256-<hex>.sig for the index and each child, cosign layout, org key, stable digest', async () => {
    const index = await manifest('hub', 'demo/multi', 'multi');
    const idx = (await index.json()) as Manifest;
    const digests = [index.headers.get('docker-content-digest')!, ...idx.manifests!.map((d) => d.digest)];
    // Digest checks only (no pinned cosign keys): the unverified org key signs.
    const orgKey = createPublicKey(mirror.app.keys.cosignPublicPem('unverified'));
    for (const digest of digests) {
      const hex = digest.slice('sha256:'.length);
      const res = await manifest('hub', 'demo/multi', `sha256-${hex}.sig`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), OCI_MANIFEST);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(res.headers.get('docker-content-digest'), `sha256:${sha256(bytes)}`);
      const sig = JSON.parse(bytes.toString()) as Manifest;
      assert.equal(sig.mediaType, OCI_MANIFEST);
      const config = Buffer.from(await (await mirror.get(`/v2/hub/demo/multi/blobs/${sig.config.digest}`)).arrayBuffer());
      assert.equal(`sha256:${sha256(config)}`, sig.config.digest);
      assert.doesNotMatch(config.toString(), /"created":"(?!0001-01-01T00:00:00Z)/);
      const identities: string[] = [];
      assert.equal(sig.layers.length, 2, 'one signature for the mirror name, one for the upstream name');
      for (const layer of sig.layers) {
        assert.equal(layer.mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
        const payloadRes = await mirror.get(`/v2/hub/demo/multi/blobs/${layer.digest}`);
        assert.equal(payloadRes.status, 200);
        const payload = Buffer.from(await payloadRes.arrayBuffer());
        assert.equal(`sha256:${sha256(payload)}`, layer.digest);
        const doc = JSON.parse(payload.toString()) as { critical: { identity: { 'docker-reference': string }; image: { 'docker-manifest-digest': string }; type: string }; optional: null };
        assert.deepEqual(Object.keys(doc), ['critical', 'optional']);
        assert.equal(doc.optional, null);
        assert.deepEqual(Object.keys(doc.critical).sort(), ['identity', 'image', 'type']);
        assert.equal(doc.critical.type, 'cosign container image signature');
        assert.equal(doc.critical.image['docker-manifest-digest'], digest);
        identities.push(doc.critical.identity['docker-reference']);
        const signature = Buffer.from(layer.annotations!['dev.cosignproject.cosign/signature']!, 'base64');
        assert.ok(verify('sha256', payload, orgKey, signature), 'ECDSA SHA-256 over the payload bytes by the org key');
      }
      assert.deepEqual(identities, [`${mirrorHost}/hub/demo/multi`, `${registry.host}/demo/multi`]);
      const again = await manifest('hub', 'demo/multi', `sha256-${hex}.sig`);
      assert.equal(again.headers.get('docker-content-digest'), res.headers.get('docker-content-digest'), 'the signature manifest digest is stable');
      const byDigest = await manifest('hub', 'demo/multi', res.headers.get('docker-content-digest')!);
      assert.equal(byDigest.status, 200);
      assert.equal(byDigest.headers.get('content-type'), OCI_MANIFEST);
    }
  });

  test('referrers API lists the signature as an OCI 1.1 referrer with the subject', async () => {
    const res = await manifest('hub', 'demo/app', 'v1');
    const digest = res.headers.get('docker-content-digest')!;
    const list = await mirror.get(`/v2/hub/demo/app/referrers/${digest}`);
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('content-type'), OCI_INDEX);
    const idx = (await list.json()) as Manifest;
    assert.equal(idx.manifests?.length, 1);
    assert.equal(idx.manifests![0]!.artifactType, 'application/vnd.dev.cosign.artifact.sig.v1+json');
    const ref = await manifest('hub', 'demo/app', idx.manifests![0]!.digest);
    assert.equal(ref.status, 200);
    const m = (await ref.json()) as Manifest;
    assert.equal(m.subject?.digest, digest);
    assert.equal(m.config.mediaType, 'application/vnd.dev.cosign.artifact.sig.v1+json');
  });

  test('tags/list, library/ for single-component names, distribution error shapes', async () => {
    const tags = await mirror.get('/v2/hub/demo/app/tags/list');
    assert.equal(tags.status, 200);
    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags.sort(), ['v1', 'v2']);

    const lib = await manifest('lib', 'alpine', 'v1');
    assert.equal(lib.status, 200);
    assert.equal(lib.headers.get('docker-content-digest'), await upstreamDigest('library/alpine', 'v1'));
    const hex = lib.headers.get('docker-content-digest')!.slice(7);
    const sig = (await (await manifest('lib', 'alpine', `sha256-${hex}.sig`)).json()) as Manifest;
    const payload = JSON.parse(Buffer.from(await (await mirror.get(`/v2/lib/alpine/blobs/${sig.layers[1]!.digest}`)).arrayBuffer()).toString()) as { critical: { identity: { 'docker-reference': string } } };
    assert.equal(payload.critical.identity['docker-reference'], `${registry.host}/library/alpine`);

    const unknownTag = await manifest('hub', 'demo/app', 'nope');
    assert.equal(unknownTag.status, 404);
    assert.equal((await errorsOf(unknownTag))[0]?.code, 'MANIFEST_UNKNOWN');
    const unknownRepo = await mirror.get('/v2/nope/demo/app/manifests/v1');
    assert.equal(unknownRepo.status, 404);
    assert.equal((await errorsOf(unknownRepo))[0]?.code, 'NAME_UNKNOWN');
    const badName = await mirror.get('/v2/hub/Demo/app/manifests/v1');
    assert.equal(badName.status, 404);
    assert.equal((await errorsOf(badName))[0]?.code, 'NAME_UNKNOWN');
    const put = await mirror.get('/v2/hub/demo/app/manifests/v1', { method: 'PUT', body: '{}' });
    assert.equal(put.status, 405);
    assert.equal((await errorsOf(put))[0]?.code, 'UNSUPPORTED');
  });

  test('registry token auth: Bearer challenge answered with Basic credentials, token reused for the image', async () => {
    registry.resetCounts();
    const res = await manifest('private', 'demo/app', 'v2');
    assert.equal(res.status, 200);
    const m = (await res.json()) as Manifest;
    assert.equal(registry.tokenRequests, 1);
    const challenged = registry.challenges;
    for (const d of [m.config, ...m.layers]) assert.equal((await mirror.get(`/v2/private/demo/app/blobs/${d.digest}`)).status, 200);
    assert.equal(registry.tokenRequests, 1, 'one token for the image scope');
    assert.equal(registry.challenges, challenged, 'later requests carry the cached token');
    const other = await manifest('private', 'demo/docker', 'v1');
    assert.equal(other.status, 200);
    assert.equal(registry.tokenRequests, 2, 'another image, another scope');
  });

  test('key rotation: new signatures by the new key; the old signature manifest stays fetchable and valid', async () => {
    const res = await manifest('hub', 'demo/docker', 'v1');
    const hex = res.headers.get('docker-content-digest')!.slice(7);
    const oldKey = createPublicKey(mirror.app.keys.cosignPublicPem('unverified'));
    const before = await manifest('hub', 'demo/docker', `sha256-${hex}.sig`);
    const oldDigest = before.headers.get('docker-content-digest')!;
    await mirror.app.keys.rotate('ecdsa-unverified');
    const newKey = createPublicKey(mirror.app.keys.cosignPublicPem('unverified'));
    const afterRes = await manifest('hub', 'demo/docker', `sha256-${hex}.sig`);
    assert.notEqual(afterRes.headers.get('docker-content-digest'), oldDigest);
    const check = async (sig: Manifest, key: ReturnType<typeof createPublicKey>): Promise<boolean> => {
      const layer = sig.layers[0]!;
      const payload = Buffer.from(await (await mirror.get(`/v2/hub/demo/docker/blobs/${layer.digest}`)).arrayBuffer());
      return verify('sha256', payload, key, Buffer.from(layer.annotations!['dev.cosignproject.cosign/signature']!, 'base64'));
    };
    const newSig = (await afterRes.json()) as Manifest;
    assert.ok(await check(newSig, newKey));
    assert.ok(!(await check(newSig, oldKey)));
    const old = await manifest('hub', 'demo/docker', oldDigest);
    assert.equal(old.status, 200);
    assert.ok(await check((await old.json()) as Manifest, oldKey));
  });
});
