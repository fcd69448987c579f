/**
 * Resolves and checks the key options (config `keys:`; the config schema checks them too,
 * but the CLI and tests open the store directly) and the test-only fast-keys switch.
 */
import { MirrorError } from '../errors.js';
import { DEFAULT_SIZES, type KeySizes, type ResolvedKeyOptions } from './generate-keys.js';
import type { KeyOptions } from './types.js';

const CURVES = ['P-224', 'P-256', 'P-384', 'P-521'] as const;
const RSA_KEY_NAME = /^[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,63}$/;

export function resolveKeyOptions(options: KeyOptions = {}): ResolvedKeyOptions {
  const openpgp = options.openpgp ?? 'rsa4096';
  if (openpgp !== 'rsa4096' && openpgp !== 'ed25519') throw new MirrorError('KEY_ERROR', `keys.openpgp must be rsa4096 or ed25519, not "${String(openpgp)}"`);
  const ecdsaCurve = options.ecdsaCurve ?? 'P-256';
  if (!CURVES.includes(ecdsaCurve)) throw new MirrorError('KEY_ERROR', `keys.ecdsaCurve must be one of ${CURVES.join(', ')}, not "${String(ecdsaCurve)}"`);
  if (options.rsaKeyName !== undefined && !RSA_KEY_NAME.test(options.rsaKeyName)) {
    throw new MirrorError('KEY_ERROR', `keys.rsaKeyName "${options.rsaKeyName}" must be 1–64 characters of A-Z a-z 0-9 . _ @ - and not start with a dot`);
  }
  const identity = options.identity?.trim() || 'Countersign mirror';
  return { openpgp, ecdsaCurve, identity, ...(options.rsaKeyName !== undefined ? { rsaKeyName: options.rsaKeyName } : {}) };
}

/**
 * COUNTERSIGN_TEST_FAST_KEYS=1 is for tests and CI only: it shrinks every RSA key this store
 * generates to 2048 bits. Generating the production sizes takes ~2–4 s on a quiet 2-core
 * machine but 5–10 s when test files run in parallel, and each test process makes its own
 * store. Keys made this way say so in their algorithm ("rsa2048") and are still valid
 * keys; a warning is logged every time the mode is on.
 */
export const FAST_KEYS_ENV = 'COUNTERSIGN_TEST_FAST_KEYS';
export const FAST_SIZES: KeySizes = { openpgpRsaBits: 2048, alpineRsaBits: 2048, caRsaBits: 2048, leafRsaBits: 2048 };

export function keySizes(env: NodeJS.ProcessEnv, warn: (obj: object, msg: string) => void): KeySizes {
  if (env[FAST_KEYS_ENV] !== '1') return DEFAULT_SIZES;
  warn({ env: FAST_KEYS_ENV, rsaBits: 2048 }, `${FAST_KEYS_ENV}=1: TEST-ONLY fast keys, new RSA keys are 2048 bits instead of 4096/3072; never set this in production`);
  return FAST_SIZES;
}
