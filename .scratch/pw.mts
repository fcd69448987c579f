import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKeyStore } from '/work/main/src/keys/key-store.ts';
const dir = join(await mkdtemp(join(tmpdir(), 'ks-')), 'keys');
await openKeyStore({ dir, passphrase: 'a', options: { openpgp: 'ed25519' } });
for (const p of ['b', undefined]) { try { await openKeyStore({ dir, passphrase: p }); } catch (e) { console.log(String(e), JSON.stringify(e)); } }
