import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKeyStore } from '/work/main/src/keys/key-store.ts';
const logger = { info: (o: object, m?: string) => console.log(m, JSON.stringify(o)), warn: (o: object, m?: string) => console.log('WARN', m, JSON.stringify(o)) };
for (let i = 0; i < 3; i++) {
  const dir = join(await mkdtemp(join(tmpdir(), 'ks-')), 'keys');
  const t = performance.now();
  const ks = await openKeyStore({ dir, logger: i === 0 ? logger : undefined, passphrase: i === 2 ? 'pw' : undefined });
  console.log('open #' + i, Math.round(performance.now() - t), 'ms');
  const t2 = performance.now();
  await openKeyStore({ dir, passphrase: i === 2 ? 'pw' : undefined });
  console.log('reopen', Math.round(performance.now() - t2), 'ms');
  if (i === 0) { console.log(ks.list()); console.log(ks); console.log(JSON.stringify(ks.ecdsaSigner())); console.log(ks.x509Leaf('rsa')); }
}
