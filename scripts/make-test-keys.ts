// Generates one organisation key directory for the whole test run (RSA 4096 takes seconds).
import { openKeyStore } from '../src/keys/key-store.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: make-test-keys.ts <dir>');
await openKeyStore({ dir });
