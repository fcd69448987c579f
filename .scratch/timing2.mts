import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKeyStore } from '/work/main/src/keys/key-store.ts';
for (const [label, env] of [['default', {}], ['fast', { COUNTERSIGN_TEST_FAST_KEYS: '1' }]] as const) {
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const root = await mkdtemp(join(tmpdir(), 'ks-'));
    const t = performance.now();
    await openKeyStore({ dir: join(root, 'keys'), env });
    times.push(Math.round(performance.now() - t));
    await rm(root, { recursive: true });
  }
  const s = [...times].sort((a, b) => a - b);
  console.log(label, times.join(', '), 'ms; median', s[3], 'min', s[0], 'max', s[6]);
}
