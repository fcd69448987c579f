/**
 * The org cosign key on each selectable curve (keys.ecdsaCurve: P-224, P-384, P-521; P-256 is
 * the default the other e2e tests use): signatures stay SHA-256 whatever the curve, as cosign
 * and containers/image verify them (../shared/specs/formats-pki.md §1). The key is imported into
 * the running mirror's key store, as an operator with an existing key would.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pushDemoImages, startOciWorld, type DemoImages, type OciWorld } from '../helpers/oci-e2e.js';

describe('cosign signatures by an org key on every selectable curve', () => {
  let world: OciWorld<DemoImages>;

  before(async () => {
    world = await startOciWorld({ workPrefix: 'countersign-oci-curves-', publish: ({ registry, work }) => pushDemoImages(registry, work) });
  });
  after(async () => {
    await world?.close();
  });

  for (const curve of ['P-224', 'P-384', 'P-521'] as const) {
    test(`${curve}: cosign verify and a skopeo sigstoreSigned policy accept the index and its children`, async () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const imported = await world.mirror.app.keys.importKey('ecdsa', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      const pub = join(world.work, `cosign-${curve}.pub`);
      const served = await (await world.mirror.get('/-/keys/cosign.pub')).text();
      assert.equal(served, world.mirror.app.keys.exportPublic('ecdsa', imported.id), 'the served key is the imported one');
      await writeFile(pub, served);

      // A signature by the new key: its length tells the curve (DER r,s of the curve's size).
      const sigManifest = (await (await world.mirror.get(`/v2/hub/demo/app/manifests/sha256-${world.published.app.slice(7)}.sig`)).json()) as {
        layers: { annotations: Record<string, string> }[];
      };
      const der = Buffer.from(sigManifest.layers[0]!.annotations['dev.cosignproject.cosign/signature']!, 'base64');
      const coordinate = { 'P-224': 28, 'P-384': 48, 'P-521': 66 }[curve];
      assert.ok(der.length > 2 * coordinate - 4 && der.length <= 2 * coordinate + 9, `${der.length}-byte signature for ${curve}`);

      for (const ref of [`${world.host}/hub/demo/app:v1`, `${world.host}/hub/demo/multi:multi`]) {
        const r = await world.cosignVerify(pub, ref);
        assert.equal(r.code, 0, `cosign verify ${ref} with the ${curve} key failed:\n${r.stderr}`);
      }
      const copied = await world.skopeoCopyVerified({ key: pub, image: 'demo/multi:multi', extra: ['--all'] });
      assert.equal(copied.code, 0, `skopeo copy --all with the ${curve} key failed:\n${copied.stderr}`);
      // The previous key's signatures are gone from the served .sig: the old key no longer verifies new pulls.
      const old = await world.cosignVerify(world.orgPub, `${world.host}/hub/demo/app:v1`);
      assert.notEqual(old.code, 0, 'the previous org key must not verify signatures made after the import');
    });
  }
});
