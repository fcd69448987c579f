#!/usr/bin/env node
// Runs every test file under test/ with node's test runner through tsx (Node 20 has no
// type stripping and no glob support in --test). Extra arguments are passed to node --test.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const tiers = process.env.TEST_TIERS ? process.env.TEST_TIERS.split(',') : ['unit', 'integration', 'e2e'];
const files = tiers.flatMap((t) => collect(join('test', t)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// One key directory for every test file (each file runs in its own process).
const env = { ...process.env, NODE_ENV: 'test' };
if (!env.COUNTERSIGN_TEST_KEYS_DIR) {
  const dir = join(mkdtempSync(join(tmpdir(), 'countersign-test-keys-')), 'keys');
  const made = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/make-test-keys.ts', dir], { stdio: 'inherit' });
  if (made.status !== 0) process.exit(made.status ?? 1);
  env.COUNTERSIGN_TEST_KEYS_DIR = dir;
}
const args = ['--import', 'tsx', '--test', '--test-concurrency=2', ...process.argv.slice(2), ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', env });
process.exit(r.status ?? 1);
