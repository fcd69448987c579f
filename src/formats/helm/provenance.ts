/**
 * Helm provenance files (https://helm.sh/docs/topics/provenance/, helm/helm pkg/provenance/sign.go):
 * `<chart>.tgz.prov` is an OpenPGP cleartext-signed body of the chart's metadata (Chart.yaml as
 * Helm marshals it), the line `...` (YAML's document end: `---` is illegal in clearsigned text),
 * and `files: {<chart file name>: sha256:<hex of the .tgz>}`. Helm verifies the signature with its
 * keyring, then looks the downloaded archive's file name up in `files` and compares its sha256.
 *
 * An upstream `.prov` is attacker-controlled until its signature verifies, and even then it only
 * says what its signer vouched for: the name and digest are checked against the archive here.
 */
import * as openpgp from 'openpgp';
import { parse } from 'yaml';
import type { OpenPgpKeyring } from '../../trust/openpgp-trust.js';
import { metadataYaml, type ChartMetadata } from './chart-metadata.js';

/** The separator Helm writes between the metadata and the files map. */
const SEPARATOR = '\n...\n';

/**
 * The body `helm package --sign` signs, without its final newline (the line break before the
 * signature armor ends the last line and is not part of the signed text).
 */
export function provenanceBody(metadata: ChartMetadata, fileName: string, sha256: string): string {
  const files = `files:\n  ${yamlKey(fileName)}: sha256:${sha256}\n`;
  return `${metadataYaml(metadata)}${SEPARATOR}${files}`.replace(/\n$/, '');
}

export type ProvenanceCheck =
  | { ok: true; fingerprint: string }
  | { ok: false; reason: string };

/** Verifies an upstream `.prov` for the archive `fileName` of SHA-256 `sha256` (and chart `chartName`). */
export async function checkProvenance(
  keyring: OpenPgpKeyring, prov: Buffer, expected: { fileName: string; sha256: string; chartName: string },
): Promise<ProvenanceCheck> {
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: new TextDecoder('utf-8', { fatal: true }).decode(prov) });
  } catch (err) {
    return { ok: false, reason: `it is not a cleartext-signed OpenPGP message: ${(err as Error).message}` };
  }
  let fingerprint: string | undefined;
  const reasons: string[] = [];
  try {
    const result = await openpgp.verify({ message, verificationKeys: keyring.keys });
    for (const sig of result.signatures) {
      try {
        await sig.verified;
        const key = keyring.keys.find((k) => k.getKeys(sig.keyID).length > 0);
        fingerprint = key ? key.getFingerprint().toUpperCase() : sig.keyID.toHex().toUpperCase();
        break;
      } catch (err) {
        reasons.push(`key ${sig.keyID.toHex().toUpperCase()}: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    reasons.push((err as Error).message);
  }
  if (!fingerprint) return { ok: false, reason: `its signature does not verify with trust.keyring (${reasons.join('; ') || 'no signatures'})` };
  // Only the signed text is read from here on.
  const body = parseBody(message.getText());
  if (!body.ok) return body;
  const listed = body.files[expected.fileName];
  if (listed === undefined) return { ok: false, reason: `it lists no file named ${expected.fileName} (Helm matches the .prov by file name)` };
  if (listed !== `sha256:${expected.sha256}`) return { ok: false, reason: `it gives ${expected.fileName} the digest ${listed.slice(0, 80)}, not sha256:${expected.sha256}` };
  if (body.name !== undefined && body.name !== expected.chartName) {
    return { ok: false, reason: `it is for the chart "${body.name.slice(0, 80)}", not "${expected.chartName}"` };
  }
  return { ok: true, fingerprint };
}

type Body = { ok: true; name?: string; files: Record<string, string> } | { ok: false; reason: string };

/** Helm's parseMessageBlock: split at the first "\n...\n", the metadata before, the files map after. */
function parseBody(text: string): Body {
  const at = text.indexOf(SEPARATOR);
  if (at < 0) return { ok: false, reason: 'its body has no "..." line between the chart metadata and the files' };
  try {
    const meta = parse(text.slice(0, at), { schema: 'failsafe', maxAliasCount: 100 }) as unknown;
    const sums = parse(text.slice(at + SEPARATOR.length), { schema: 'failsafe', maxAliasCount: 100 }) as unknown;
    const files = isRecord(sums) && isRecord(sums.files) ? sums.files : undefined;
    if (!files) return { ok: false, reason: 'its body has no files map' };
    const strings: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [k, v] of Object.entries(files)) if (typeof v === 'string') strings[k] = v;
    const name = isRecord(meta) && typeof meta.name === 'string' ? meta.name : undefined;
    return { ok: true, ...(name !== undefined ? { name } : {}), files: strings };
  } catch (err) {
    return { ok: false, reason: `its body is not valid YAML: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** A file name as a YAML key: plain when it reads back as itself, double-quoted otherwise. */
function yamlKey(name: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9._+-]*$/.test(name) ? name : JSON.stringify(name);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
