/**
 * Benchmarks, run on demand (`npm run bench`, or `BENCH=npm npm run bench`; `BENCH=oci` pulls a
 * 1 GiB blob and needs ~3 GiB of free disk). Each prints
 * ratios against a baseline measured in the same run, because absolute numbers drift on
 * shared 2-core machines.
 */
import { pinSelf } from './load-child.js';
import { npmBigPackument } from './npm-big-packument.js';
import { ociBigBlob } from './oci-big-blob.js';
import { rawWarm } from './raw-warm.js';

const BENCHES: Record<string, () => Promise<void>> = { raw: rawWarm, npm: npmBigPackument, oci: ociBigBlob };
const selected = (process.env.BENCH ?? Object.keys(BENCHES).join(',')).split(',');
pinSelf();
for (const name of selected) {
  const bench = BENCHES[name];
  if (!bench) throw new Error(`unknown bench "${name}" (known: ${Object.keys(BENCHES).join(', ')})`);
  console.log(`== ${name}`);
  await bench();
}
