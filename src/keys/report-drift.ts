/**
 * Start-up notes on where the key store differs from the configuration. Keys are never
 * changed behind the operator's back: a new curve or algorithm takes a `keys rotate`, and
 * plain keys stay plain until rotated or re-imported under the passphrase.
 */
import { join } from 'node:path';
import type { ResolvedKeyOptions } from './generate-keys.js';
import type { LoadedKey } from './key-material.js';

export interface DriftLogger {
  info(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
}

export function reportDrift(keys: readonly LoadedKey[], dir: string, hasPassphrase: boolean, options: ResolvedKeyOptions, log: DriftLogger): void {
  const active = keys.filter((k) => k.record.status === 'active');
  const plain = active.filter((k) => !k.record.encrypted).map((k) => join(dir, k.record.files.private));
  if (hasPassphrase && plain.length > 0) {
    (log.warn ?? log.info).call(log, { files: plain }, 'a key passphrase is set but these private keys are not encrypted at rest; rotate or re-import them');
  }
  // Imported keys are the operator's explicit choice; only generated ones follow the config.
  const algorithmOf = (kind: string) => active.find((k) => k.record.kind === kind && k.record.source === 'generated')?.record.algorithm;
  for (const kind of ['openpgp', 'openpgp-unverified']) {
    const openpgp = algorithmOf(kind);
    if (openpgp && openpgp !== options.openpgp) {
      log.info({ kind, active: openpgp, configured: options.openpgp }, `the active ${kind} key differs from keys.openpgp; run \`countersign keys rotate ${kind}\` to switch`);
    }
  }
  const soon = Date.now() + 30 * 24 * 3600 * 1000;
  for (const key of active) {
    const { notAfter, kind, id } = key.record;
    if (notAfter && Date.parse(notAfter) < soon) {
      (log.warn ?? log.info).call(log, { kind, id, notAfter }, `the active ${kind} certificate expires within 30 days; run \`countersign keys rotate ${kind}\``);
    }
  }
  const wanted = `ecdsa-${options.ecdsaCurve.toLowerCase().replace('-', '')}`;
  for (const kind of ['ecdsa', 'ecdsa-unverified']) {
    const ecdsa = algorithmOf(kind);
    if (ecdsa && ecdsa !== wanted) {
      log.info({ kind, active: ecdsa, configured: options.ecdsaCurve }, `the active ${kind} key differs from keys.ecdsaCurve; run \`countersign keys rotate ${kind}\` to switch`);
    }
  }
}
