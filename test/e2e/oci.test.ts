/**
 * The real verifiers against the mirror's cosign signatures: Debian trixie's cosign 2.5
 * (`cosign verify --key`) and skopeo 1.18 (containers/image `sigstoreSigned` policy with
 * sigstore attachments), pulling single- and multi-platform images built by the test,
 * pushed by skopeo into a real distribution registry, through the mirror.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { pushDemoImages, startOciWorld, writeUnrelatedKey, type DemoImages, type OciWorld } from '../helpers/oci-e2e.js';

describe('cosign and skopeo verify images pulled through the mirror', () => {
  let world: OciWorld<DemoImages>;
  let host: string;
  let orgPub: string;
  let otherPub: string;

  before(async () => {
    world = await startOciWorld({ workPrefix: 'countersign-oci-e2e-', publish: ({ registry, work }) => pushDemoImages(registry, work) });
    ({ host, orgPub } = world);
    otherPub = await writeUnrelatedKey(world.work);
  });
  after(async () => {
    await world?.close();
  });

  test('cosign verify --key <mirror cosign.pub> accepts a single-platform image by tag', async () => {
    const r = await world.cosignVerify(orgPub, `${host}/hub/demo/app:v1`);
    assert.equal(r.code, 0, `cosign verify failed:\n${r.stderr}`);
    const claims = JSON.parse(r.stdout) as { critical: { image: { 'docker-manifest-digest': string } } }[];
    assert.ok(claims.length >= 1);
  });

  test('cosign verify accepts a multi-platform index by tag and a child by digest', async () => {
    const r = await world.cosignVerify(orgPub, `${host}/hub/demo/multi:multi`);
    assert.equal(r.code, 0, `cosign verify (index) failed:\n${r.stderr}`);
    const idx = (await (await world.mirror.get('/v2/hub/demo/multi/manifests/multi', { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })).json()) as { manifests: { digest: string }[] };
    const child = await world.cosignVerify(orgPub, `${host}/hub/demo/multi@${idx.manifests[1]!.digest}`);
    assert.equal(child.code, 0, `cosign verify (child) failed:\n${child.stderr}`);
  });

  test('cosign verify fails with another key', async () => {
    const r = await world.cosignVerify(otherPub, `${host}/hub/demo/app:v1`);
    assert.notEqual(r.code, 0, 'a signature by the org key must not verify under another key');
    assert.match(r.stderr, /no matching signatures|invalid signature|verification failed/i);
  });

  test('skopeo copy with a sigstoreSigned policy (matchRepository on the mirror name) copies a single-platform image', async () => {
    const r = await world.skopeoCopyVerified({ key: orgPub, image: 'demo/app:v1', signedIdentity: { type: 'matchRepository' } });
    assert.equal(r.code, 0, `skopeo copy failed:\n${r.stderr}`);
    assert.ok((await readdir(r.out)).includes('manifest.json'));
  });

  test('skopeo accepts the upstream identity with exactRepository', async () => {
    const r = await world.skopeoCopyVerified({ key: orgPub, image: 'demo/app:v1', signedIdentity: { type: 'exactRepository', dockerRepository: `${world.registry.host}/demo/app` } });
    assert.equal(r.code, 0, `skopeo copy failed:\n${r.stderr}`);
  });

  test('skopeo copy --all of a multi-platform image: the index and every instance are signed', async () => {
    const r = await world.skopeoCopyVerified({ key: orgPub, image: 'demo/multi:multi', signedIdentity: { type: 'matchRepository' }, extra: ['--all'] });
    assert.equal(r.code, 0, `skopeo copy --all failed:\n${r.stderr}`);
    const one = await world.skopeoCopyVerified({ key: orgPub, image: 'demo/multi:multi', signedIdentity: { type: 'matchRepository' } });
    assert.equal(one.code, 0, `skopeo copy (one instance) failed:\n${one.stderr}`);
  });

  test('skopeo copy fails when the signature is tampered with on the way', async () => {
    // A front that flips one byte of each signature annotation in `.sig` manifests from the mirror.
    const front = createServer((req, res) => {
      void (async () => {
        const upstream = await fetch(`${world.mirror.url}${req.url}`, { method: req.method, headers: { accept: req.headers.accept ?? '*/*' } });
        let body = Buffer.from(await upstream.arrayBuffer());
        if (/\/manifests\/sha256-[0-9a-f]{64}\.sig$/.test(req.url ?? '') && upstream.status === 200) {
          const m = JSON.parse(body.toString()) as { layers: { annotations: Record<string, string> }[] };
          for (const l of m.layers) {
            const sig = Buffer.from(l.annotations['dev.cosignproject.cosign/signature']!, 'base64');
            sig.writeUInt8(sig.readUInt8(sig.length - 3) ^ 0x01, sig.length - 3);
            l.annotations['dev.cosignproject.cosign/signature'] = sig.toString('base64');
          }
          body = Buffer.from(JSON.stringify(m));
        }
        const headers: Record<string, string> = {};
        for (const h of ['content-type', 'docker-content-digest', 'docker-distribution-api-version']) {
          const v = upstream.headers.get(h);
          if (v) headers[h] = v;
        }
        res.writeHead(upstream.status, { ...headers, 'content-length': body.byteLength });
        res.end(req.method === 'HEAD' ? undefined : body);
      })().catch(() => res.destroy());
    });
    await new Promise<void>((ok) => front.listen(0, '127.0.0.1', () => ok()));
    const frontHost = `127.0.0.1:${(front.address() as AddressInfo).port}`;
    try {
      const r = await world.skopeoCopyVerified({
        key: orgPub, image: 'demo/app:v1', signedIdentity: { type: 'exactRepository', dockerRepository: `${host}/hub/demo/app` }, through: frontHost,
      });
      assert.notEqual(r.code, 0, 'a tampered signature must be refused');
      assert.match(r.stderr, /signature verification failed|invalid signature/i);
    } finally {
      front.closeAllConnections();
      await new Promise<void>((ok) => front.close(() => ok()));
    }
  });

  test('skopeo copy fails with a wrong key', async () => {
    const r = await world.skopeoCopyVerified({ key: otherPub, image: 'demo/app:v1', signedIdentity: { type: 'matchRepository' } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /signature verification failed|not accepted|rejected/i);
  });
});
