/**
 * A packument's revision for the core's rollback check: its `time.modified`, which the registry
 * advances on every publish, unpublish or dist-tag change. Upstream bytes are attacker-controlled
 * and `time` is covered by no signature, so a value far in the future is ignored rather than
 * recorded: recorded, it would make every later genuine revision look like a rollback.
 */
import type { Revision } from '../types.js';
import type { Packument } from './packument.js';

/** How far ahead of the mirror's clock a registry's clock may run. */
const MAX_CLOCK_SKEW_MS = 24 * 60 * 60 * 1000;

export function packumentRevision(doc: Packument, now: number): Revision | undefined {
  const text = doc.time?.modified;
  if (typeof text !== 'string') return undefined;
  const value = Date.parse(text);
  if (Number.isNaN(value) || value > now + MAX_CLOCK_SKEW_MS) return undefined;
  return { value, label: `time.modified ${new Date(value).toISOString()}` };
}
