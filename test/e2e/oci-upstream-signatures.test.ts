/**
 * Images signed upstream by the real `cosign sign --key` (trixie cosign 2.5), pulled through a
 * mirror with `trust.cosignKeys`: the `.sig` the mirror serves carries the upstream's signature
 * and the org's, so `cosign verify` accepts the image with either key, and containers/image
 * (trixie skopeo 1.18) with a sigstoreSigned policy for either.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CosignSigner, type CosignKeyPair } from '../helpers/cosign-signer.js';
import { pushDemoImages, startOciWorld, type OciWorld } from '../helpers/oci-e2e.js';

interface Claims { critical: { identity: { 'docker-reference': string }; image: { 'docker-manifest-digest': string } } }

/** The upstream's publisher key and a key nobody signed with. */
interface PublisherKeys { upstream: CosignKeyPair; other: CosignKeyPair }

describe('cosign and skopeo verify the upstream signature and the org signature through the mirror', () => {
  let world: OciWorld<PublisherKeys>;
  let host: string;
  let orgPub: string;
  let upstream: CosignKeyPair;
  let other: CosignKeyPair;

  before(async () => {
    world = await startOciWorld({
      workPrefix: 'countersign-oci-upsig-e2e-',
      async publish({ registry, work }) {
        const signer = new CosignSigner(work);
        const keys = { upstream: await signer.generateKeyPair('upstream'), other: await signer.generateKeyPair('other') };
        const { layout, app, multi } = await pushDemoImages(registry, work, 'signed upstream\n');
        await layout.add({ tag: 'unsigned', platforms: [{ os: 'linux', architecture: 'amd64', files: { 'hello.txt': 'not signed\n' } }] });
        await registry.push(layout.dir, 'unsigned', 'demo/app');
        await signer.sign(`${registry.backendHost}/demo/app@${app}`, keys.upstream);
        await signer.sign(`${registry.backendHost}/demo/multi@${multi}`, keys.upstream, { recursive: true });
        return keys;
      },
      hub: ({ upstream: key }) => ({ verify: 'require', trust: { cosignKeys: [key.pub] } }),
    });
    ({ host, orgPub, published: { upstream, other } } = world);
  });
  after(async () => {
    await world?.close();
  });

  test('cosign verify --key <upstream key> and --key <org key> both accept the image by tag through the mirror', async () => {
    const byUpstream = await world.cosignVerify(upstream.pub, `${host}/hub/demo/app:v1`);
    assert.equal(byUpstream.code, 0, `cosign verify (upstream key) failed:\n${byUpstream.stderr}`);
    const claims = JSON.parse(byUpstream.stdout) as Claims[];
    assert.deepEqual(claims.map((c) => c.critical.identity['docker-reference']), [`${world.registry.backendHost}/demo/app`], 'only the upstream signature verifies with its key');
    const byOrg = await world.cosignVerify(orgPub, `${host}/hub/demo/app:v1`);
    assert.equal(byOrg.code, 0, `cosign verify (org key) failed:\n${byOrg.stderr}`);
    assert.equal((JSON.parse(byOrg.stdout) as Claims[]).length, 2, 'the two org identities');
  });

  test('a multi-platform image signed --recursive: the index and a child verify with either key', async () => {
    const idx = (await (await world.mirror.get('/v2/hub/demo/multi/manifests/multi', { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })).json()) as { manifests: { digest: string }[] };
    for (const ref of [`${host}/hub/demo/multi:multi`, `${host}/hub/demo/multi@${idx.manifests[1]!.digest}`]) {
      for (const key of [upstream.pub, orgPub]) {
        const r = await world.cosignVerify(key, ref);
        assert.equal(r.code, 0, `cosign verify ${ref} with ${key} failed:\n${r.stderr}`);
      }
    }
  });

  test('cosign verify with a key neither signed with fails', async () => {
    const r = await world.cosignVerify(other.pub, `${host}/hub/demo/app:v1`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no matching signatures|invalid signature|verification failed/i);
  });

  test('an image the upstream did not sign is not served, so it cannot be verified', async () => {
    const r = await world.cosignVerify(orgPub, `${host}/hub/demo/app:unsigned`);
    assert.notEqual(r.code, 0);
    // cosign resolves the tag with HEAD, so it sees the status (502) rather than the error body.
    assert.match(r.stderr, /502|MANIFEST_INVALID|no cosign signature/);
  });

  /** skopeo copy of demo/app:v1 through the mirror under a sigstoreSigned policy for `key` and `signedIdentity`. */
  const skopeoCopy = (key: string, signedIdentity: object) => world.skopeoCopyVerified({ key, image: 'demo/app:v1', signedIdentity });

  test('skopeo accepts the image under a policy for the upstream key (its identity) and one for the org key', async () => {
    const byUpstream = await skopeoCopy(upstream.pub, { type: 'exactRepository', dockerRepository: `${world.registry.backendHost}/demo/app` });
    assert.equal(byUpstream.code, 0, `skopeo copy (upstream key) failed:\n${byUpstream.stderr}`);
    const byOrg = await skopeoCopy(orgPub, { type: 'matchRepository' });
    assert.equal(byOrg.code, 0, `skopeo copy (org key) failed:\n${byOrg.stderr}`);
  });
});
