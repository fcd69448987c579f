/**
 * A Docker manifest list of Docker schema 2 images (pushed to Debian's docker-registry with its
 * push API) pulled through the mirror by trixie's skopeo with a sigstoreSigned policy, `--all`
 * and for one instance, and checked by trixie's cosign: the list and every child are signed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PushedList } from '../helpers/docker-manifest-list.js';
import { AMD64_AND_ARM64, startOciWorld, type OciWorld, type RunResult } from '../helpers/oci-e2e.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('skopeo and cosign with a Docker manifest list through the mirror', () => {
  let world: OciWorld<PushedList>;
  let host: string;
  let pushed: PushedList;
  let keyFile: string;

  before(async () => {
    world = await startOciWorld({
      workPrefix: 'countersign-oci-list-e2e-',
      publish: ({ registry }) => registry.pushDockerList('demo/list', 'multi', AMD64_AND_ARM64),
    });
    ({ host, published: pushed, orgPub: keyFile } = world);
  });
  after(async () => {
    await world?.close();
  });

  /** skopeo copy of demo/list:multi through the mirror under a sigstoreSigned policy for the org key. */
  const skopeoCopy = (extra: string[]): Promise<RunResult & { out: string }> =>
    world.skopeoCopyVerified({ key: keyFile, image: 'demo/list:multi', signedIdentity: { type: 'matchRepository' }, extra });

  test('skopeo copy --all: the list and both instances verify; the list arrives byte for byte', async () => {
    const r = await skopeoCopy(['--all']);
    assert.equal(r.code, 0, `skopeo copy --all failed:\n${r.stderr}`);
    const list = await readFile(join(r.out, 'manifest.json'));
    assert.equal(sha256(list), pushed.digest, 'the list digest is intact end to end');
    const files = await readdir(r.out);
    for (const child of pushed.children) {
      assert.ok(files.includes(`${child.digest.slice('sha256:'.length)}.manifest.json`), `instance ${child.digest} copied`);
    }
  });

  test('skopeo copy of one instance (picked from the list by platform) verifies too', async () => {
    const r = await skopeoCopy(['--override-os', 'linux', '--override-arch', 'arm64']);
    assert.equal(r.code, 0, `skopeo copy (arm64) failed:\n${r.stderr}`);
    const manifest = await readFile(join(r.out, 'manifest.json'));
    assert.equal(sha256(manifest), pushed.children[1]!.digest);
  });

  test('cosign verify accepts the list by tag and each child by digest', async () => {
    const refs = [`${host}/hub/demo/list:multi`, ...pushed.children.map((c) => `${host}/hub/demo/list@${c.digest}`)];
    for (const ref of refs) {
      const r = await world.cosignVerify(keyFile, ref);
      assert.equal(r.code, 0, `cosign verify ${ref} failed:\n${r.stderr}`);
    }
  });
});
