/**
 * Subresource Integrity strings as npm uses them (dist.integrity), parsed the way ssri
 * does for the signed message. https://w3c.github.io/webappsec-subresource-integrity/
 * Input is attacker-controlled.
 */
import type { DigestAlgorithm } from '../types.js';

const STRENGTH: readonly DigestAlgorithm[] = ['sha512', 'sha384', 'sha256', 'sha1'];
const TOKEN = /^(sha1|sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(\?[\x21-\x7e]*)?$/;

export interface IntegrityToken {
  algorithm: DigestAlgorithm;
  base64: string;
  hex: string;
  /** The token as ssri prints it. */
  text: string;
}

export function parseIntegrity(value: string): IntegrityToken[] {
  const tokens: IntegrityToken[] = [];
  for (const part of value.trim().split(/\s+/)) {
    const m = TOKEN.exec(part);
    if (!m) continue;
    const hex = Buffer.from(m[2]!, 'base64').toString('hex');
    tokens.push({ algorithm: m[1] as DigestAlgorithm, base64: m[2]!, hex, text: `${m[1]}-${m[2]}${m[3] ?? ''}` });
  }
  return tokens;
}

/** `String(ssri.parse(integrity))`: tokens grouped by algorithm in order of first appearance. */
export function ssriString(tokens: IntegrityToken[]): string {
  const groups = new Map<string, string[]>();
  for (const t of tokens) groups.set(t.algorithm, [...(groups.get(t.algorithm) ?? []), t.text]);
  return [...groups.values()].map((g) => g.join(' ')).join(' ');
}

export function strongest(tokens: IntegrityToken[]): IntegrityToken | undefined {
  for (const alg of STRENGTH) {
    const t = tokens.find((x) => x.algorithm === alg);
    if (t) return t;
  }
  return undefined;
}

/** The integrity of a version: dist.integrity, else the legacy hex SHA-1 shasum (as pacote falls back). */
export function versionIntegrity(dist: { integrity?: unknown; shasum?: unknown }): IntegrityToken[] {
  if (typeof dist.integrity === 'string') {
    const tokens = parseIntegrity(dist.integrity);
    if (tokens.length > 0) return tokens;
  }
  if (typeof dist.shasum === 'string' && /^[0-9a-f]{40}$/i.test(dist.shasum)) {
    const base64 = Buffer.from(dist.shasum, 'hex').toString('base64');
    return [{ algorithm: 'sha1', base64, hex: dist.shasum.toLowerCase(), text: `sha1-${base64}` }];
  }
  return [];
}
