/**
 * Walks the frames of a Zstandard stream (RFC 8878 §3.1: https://www.rfc-editor.org/rfc/rfc8878#section-3.1)
 * without decompressing, to refuse a frame whose header would make the decoder allocate more than
 * the caller allows. fzstd allocates the window a frame declares (up to 2 GiB) before it decodes a
 * byte, so a 20-byte hostile header is enough to exhaust memory; this check runs first.
 * The bytes are attacker-controlled: every read is bounds-checked, and the walk is linear.
 */
import { InflateError } from './bounded-inflate-error.js';

/** zstd's own decoder refuses windows above 2^27 unless told otherwise (ZSTD_WINDOWLOG_LIMIT_DEFAULT). */
export const MAX_ZSTD_WINDOW = 1 << 27;
/**
 * A window the encoder picks by itself at levels 1–19 (windowLog ≤ 23) is always allowed: it can
 * exceed small content, since the zstd CLI does not know the size of what it reads from a pipe.
 */
const ORDINARY_WINDOW = 1 << 23;

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

export function assertZstdWindows(input: Buffer, limit: number): void {
  const bad = (why: string): InflateError => new InflateError('corrupt', `it is not valid zstd: ${why}`);
  let at = 0;
  const need = (n: number): void => {
    if (at + n > input.length) throw bad(`a frame ends early at byte ${at}`);
  };
  while (at < input.length) {
    need(4);
    const magic = input.readUInt32LE(at);
    at += 4;
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      need(4);
      const size = input.readUInt32LE(at);
      at += 4;
      need(size);
      at += size;
      continue;
    }
    if (magic !== FRAME_MAGIC) throw bad(`no frame magic at byte ${at - 4}`);
    need(1);
    const fhd = input[at++]!;
    const fcsFlag = fhd >> 6;
    const single = (fhd >> 5) & 1;
    const checksum = (fhd >> 2) & 1;
    if (fhd & 8) throw bad('a reserved frame header bit is set');
    let window = 0;
    if (!single) {
      need(1);
      const wd = input[at++]!;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    at += [0, 1, 2, 4][fhd & 3]!;
    const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
    need(fcsBytes);
    let content: number | undefined;
    if (fcsBytes === 1) content = input[at]!;
    else if (fcsBytes === 2) content = input.readUInt16LE(at) + 256;
    else if (fcsBytes === 4) content = input.readUInt32LE(at);
    else if (fcsBytes === 8) content = Number(input.readBigUInt64LE(at));
    at += fcsBytes;
    if (single) window = content ?? 0;
    const allowed = Math.min(MAX_ZSTD_WINDOW, Math.max(limit, ORDINARY_WINDOW));
    if (window > allowed) throw new InflateError('limit', `a zstd frame asks for a ${window}-byte window, more than the ${allowed} bytes allowed`);
    if (content !== undefined && content > limit) {
      throw new InflateError('limit', `a zstd frame declares ${content} bytes of content, more than the ${limit} bytes allowed`);
    }
    for (let last = 0; !last;) {
      need(3);
      const header = input.readUIntLE(at, 3);
      at += 3;
      last = header & 1;
      const type = (header >> 1) & 3;
      if (type === 3) throw bad('a block has the reserved type');
      const size = type === 1 ? 1 : header >>> 3;
      need(size);
      at += size;
    }
    if (checksum) {
      need(4);
      at += 4;
    }
  }
}
