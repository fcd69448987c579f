import { readFileSync } from 'node:fs';
import { topSelf } from './bench/profile-warm.js';
const p = JSON.parse(readFileSync(process.argv[2]!, 'utf8'));
console.log('profile seconds', ((p.endTime - p.startTime) / 1e6).toFixed(1));
for (const { share, name } of topSelf(p, 25)) console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${name}`);
