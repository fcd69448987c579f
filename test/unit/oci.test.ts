/** Pure pieces of the oci format and registry token auth, against known vectors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signatureConfig, simpleSigningPayload } from '../../src/formats/oci/cosign-signature.js';
import { negotiateManifestTypes, MANIFEST_TYPES } from '../../src/formats/oci/media-types.js';
import { parseManifest } from '../../src/formats/oci/manifest.js';
import { parseOciPath } from '../../src/formats/oci/oci-path.js';
import { parseBearerChallenge } from '../../src/upstream/bearer-tokens.js';

const HEX = 'a'.repeat(64);

test('simple-signing payload: exact bytes and key order as cosign writes them', () => {
  assert.equal(
    simpleSigningPayload('docker.io/library/busybox', HEX),
    `{"critical":{"identity":{"docker-reference":"docker.io/library/busybox"},"image":{"docker-manifest-digest":"sha256:${HEX}"},"type":"cosign container image signature"},"optional":null}`,
  );
  const config = signatureConfig([{ payload: Buffer.from('x'), signature: Buffer.alloc(0) }]).toString();
  assert.equal(config, '{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"]},"config":{}}');
});

test('distribution paths: names with several components, tags, digests; bad input refused', () => {
  assert.deepEqual(parseOciPath('library/alpine/manifests/3.20'), { ok: true, path: { kind: 'manifest', name: 'library/alpine', tag: '3.20' } });
  assert.deepEqual(parseOciPath(`a/b/c/blobs/sha256:${HEX}`), { ok: true, path: { kind: 'blob', name: 'a/b/c', digest: HEX } });
  assert.deepEqual(parseOciPath(`x1/manifests/sha256-${HEX}.sig`), { ok: true, path: { kind: 'manifest', name: 'x1', tag: `sha256-${HEX}.sig` } });
  assert.deepEqual(parseOciPath('demo/tags/list'), { ok: true, path: { kind: 'tags', name: 'demo' } });
  assert.deepEqual(parseOciPath('demo/manifests/v1;accept=application/vnd.oci.image.manifest.v1+json'), { ok: true, path: { kind: 'manifest', name: 'demo', tag: 'v1' } });
  for (const bad of ['Demo/manifests/v1', 'demo/manifests/-v1', `demo/blobs/sha512:${HEX}`, 'demo/blobs/latest', 'manifests/v1', 'a//b/manifests/v1', 'demo/referrers/v1']) {
    assert.equal(parseOciPath(bad).ok, false, bad);
  }
});

test('Accept negotiation keeps known manifest types in a fixed order, all when none is named', () => {
  assert.deepEqual(negotiateManifestTypes(undefined), MANIFEST_TYPES);
  assert.deepEqual(negotiateManifestTypes('*/*'), MANIFEST_TYPES);
  assert.deepEqual(
    negotiateManifestTypes('application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json;q=0.5, application/vnd.oci.image.index.v1+json;q=0'),
    ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'],
  );
});

test('manifests are parsed defensively', () => {
  assert.equal(parseManifest(Buffer.from('{"schemaVersion":1}')).ok, false);
  assert.equal(parseManifest(Buffer.from('[]')).ok, false);
  assert.equal(parseManifest(Buffer.from(`{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:${HEX}","size":-1},"layers":[]}`)).ok, false);
  const index = parseManifest(Buffer.from(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:${HEX}","size":3}]}`));
  assert.ok(index.ok && index.manifest.mediaType === 'application/vnd.oci.image.index.v1+json' && index.manifest.manifests.length === 1);
});

test('Bearer challenges: realm, service, scope (quoted, escaped); other schemes ignored', () => {
  assert.deepEqual(
    parseBearerChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull",error="insufficient_scope"'),
    { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
  );
  assert.deepEqual(parseBearerChallenge('bearer realm=https://r.example/t'), { realm: 'https://r.example/t' });
  assert.equal(parseBearerChallenge('Basic realm="x"'), undefined);
  assert.equal(parseBearerChallenge('Bearer service="x"'), undefined);
});
