/**
 * Parses a `<file>.sha256` checksum file (attacker-controlled): either a bare hex digest or
 * `sha256sum` output ("<hex>  <name>" or "<hex> *<name>"), possibly with several lines.
 */
export function parseSha256File(text: string, fileName: string): string | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('#'));
  const entries = lines.map((line) => {
    const m = /^([0-9a-fA-F]{64})(?:\s+\*?(.+))?$/.exec(line);
    return m ? { sha256: m[1]!.toLowerCase(), name: m[2]?.trim() } : undefined;
  });
  if (entries.some((e) => e === undefined)) return undefined;
  const valid = entries as { sha256: string; name?: string }[];
  if (valid.length === 1) {
    const only = valid[0]!;
    return only.name === undefined || baseName(only.name) === fileName ? only.sha256 : undefined;
  }
  return valid.find((e) => e.name !== undefined && baseName(e.name) === fileName)?.sha256;
}

function baseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}
