/**
 * An RPM reader for tests, written apart from src/formats/rpm so the two check each other:
 * lead (96 bytes), signature header padded to 8, main header; the tags of the signature header,
 * its tag-268 packet, and the main header bytes the packet signs.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export interface RpmSignatureInfo {
  tags: number[];
  signature268?: Uint8Array;
  signature267?: Uint8Array;
  /** Main header bytes, magic to end of data: what a header signature covers. */
  header: Uint8Array;
  headerStart: number;
  headerEnd: number;
}

function headerSize(b: Buffer, at: number): { il: number; dl: number; size: number } {
  if (b.readUInt32BE(at) !== 0x8eade801) throw new Error(`no header magic at ${at}`);
  const il = b.readUInt32BE(at + 8);
  const dl = b.readUInt32BE(at + 12);
  return { il, dl, size: 16 + 16 * il + dl };
}

export function readRpmSignature(b: Buffer): RpmSignatureInfo {
  if (b.readUInt32BE(0) !== 0xedabeedb) throw new Error('not an rpm');
  const sig = headerSize(b, 96);
  const tags: number[] = [];
  const info: Partial<RpmSignatureInfo> = {};
  const data = 96 + 16 + 16 * sig.il;
  for (let i = 0; i < sig.il; i++) {
    const e = 96 + 16 + 16 * i;
    const tag = b.readUInt32BE(e);
    const offset = b.readInt32BE(e + 8);
    const count = b.readUInt32BE(e + 12);
    tags.push(tag);
    if (tag === 268) info.signature268 = b.subarray(data + offset, data + offset + count);
    if (tag === 267) info.signature267 = b.subarray(data + offset, data + offset + count);
  }
  const headerStart = 96 + Math.ceil(sig.size / 8) * 8;
  const main = headerSize(b, headerStart);
  const headerEnd = headerStart + main.size;
  return { ...info, tags, header: b.subarray(headerStart, headerEnd), headerStart, headerEnd };
}

/**
 * `rpmkeys --checksig` as a client with exactly `keysArmored` imported into a private rpmdb:
 * whether the package's header signature verifies with those keys, and rpm's own words.
 */
export async function rpmkeysCheck(keysArmored: string[], rpm: Buffer): Promise<{ ok: boolean; out: string }> {
  const work = await mkdtemp(join(tmpdir(), 'countersign-rpmkeys-'));
  const attempt = async (args: string[]): Promise<{ code: number; out: string }> => {
    try {
      const { stdout, stderr } = await run('rpmkeys', args, { timeout: 60_000 });
      return { code: 0, out: stdout + stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  };
  try {
    const db = join(work, 'rpmdb');
    await mkdir(db);
    for (const [i, armored] of keysArmored.entries()) {
      await writeFile(join(work, `key${i}.asc`), armored);
      const imported = await attempt(['--dbpath', db, '--import', join(work, `key${i}.asc`)]);
      if (imported.code !== 0) throw new Error(`rpmkeys --import failed: ${imported.out}`);
    }
    await writeFile(join(work, 'p.rpm'), rpm);
    const check = await attempt(['--dbpath', db, '--define', '_pkgverify_level signature', '--checksig', '-v', join(work, 'p.rpm')]);
    return { ok: check.code === 0 && !/NOKEY|BAD/.test(check.out), out: check.out };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
