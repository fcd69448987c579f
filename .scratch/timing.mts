import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKeyStore } from '/work/main/src/keys/key-store.ts';
for (const [label, options, passphrase] of [['default (OpenPGP RSA 4096)', {}, undefined], ['default + passphrase', {}, 'pw'], ['openpgp ed25519', { openpgp: 'ed25519' }, undefined]] as const) {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const root = await mkdtemp(join(tmpdir(), 'ks-'));
    const t = performance.now();
    await openKeyStore({ dir: join(root, 'keys'), options, passphrase });
    times.push(Math.round(performance.now() - t));
    await rm(root, { recursive: true });
  }
  console.log(label, times.join(', '), 'ms; median', times.sort((a, b) => a - b)[2]);
}
