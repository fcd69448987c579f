/**
 * Finds `<chart>/Chart.yaml` in a chart archive (attacker-controlled): a gzip'd tar as `helm
 * package` writes it (Go archive/tar: ustar, PAX `x` records for long names; helm/helm
 * pkg/chart/loader/archive.go reads every file below one top directory). Tar format:
 * https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13_06.
 * The archive is decompressed as a stream under Helm's own caps and scanning stops at Chart.yaml.
 */
import { inflate, InflateError } from '../bounded-inflate.js';

/** Helm's loader limits (MaxDecompressedChartSize, MaxDecompressedFileSize). */
const MAX_DECOMPRESSED = 100 * 1024 * 1024;
const MAX_CHART_YAML = 5 * 1024 * 1024;
const BLOCK = 512;

export class ChartArchiveError extends Error {
  override readonly name = 'ChartArchiveError';
}

class Found extends Error {}

/** The bytes of the archive's top-level `<dir>/Chart.yaml`. */
export async function readChartYaml(archive: Buffer): Promise<Buffer> {
  const scanner = new TarScanner();
  let failure: ChartArchiveError | undefined;
  try {
    await inflate(archive, 'gzip', MAX_DECOMPRESSED, (chunk) => {
      try {
        scanner.push(chunk);
      } catch (err) {
        if (err instanceof ChartArchiveError) failure = err;
        throw err;
      }
    });
  } catch (err) {
    // The scanner stops decompression by throwing once it has Chart.yaml (inflate wraps what a sink throws).
    if (scanner.found) return scanner.found;
    if (failure) throw failure;
    if (err instanceof InflateError) throw new ChartArchiveError(`the chart archive is unreadable: ${err.message}`);
    throw err;
  }
  throw new ChartArchiveError('the chart archive holds no <chart>/Chart.yaml');
}

/** Walks tar headers as bytes arrive, holding only the current header or the Chart.yaml data. */
class TarScanner {
  #pending: Buffer = Buffer.alloc(0);
  /** Bytes of the current entry's data still to skip (or to collect when #collect). */
  #skip = 0;
  #collect: Buffer[] | undefined;
  #collectSize = 0;
  #paxPath: string | undefined;
  #readingPax = false;
  #ended = false;
  found: Buffer | undefined;

  push(chunk: Buffer): void {
    if (this.#ended || this.found) return;
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    for (;;) {
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, this.#pending.length);
        if (this.#collect) this.#collect.push(Buffer.from(this.#pending.subarray(0, take)));
        this.#pending = this.#pending.subarray(take);
        this.#skip -= take;
        if (this.#skip > 0) return;
        if (this.#collect) this.#entryDone();
        continue;
      }
      if (this.#pending.length < BLOCK) return;
      const header = this.#pending.subarray(0, BLOCK);
      this.#pending = this.#pending.subarray(BLOCK);
      if (header.every((b) => b === 0)) {
        this.#ended = true;
        return;
      }
      this.#header(header);
    }
  }

  #header(header: Buffer): void {
    const size = octal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] ?? 0);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const prefix = field(header, 345, 155);
    const name = this.#paxPath ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    if (type === 'x') {
      if (size > 1024 * 1024) throw new ChartArchiveError('a PAX header in the chart archive is too large');
      this.#startCollect(size, padded, true);
      return;
    }
    this.#paxPath = undefined;
    const parts = name.replace(/^\.\//, '').split('/');
    if ((type === '0' || type === '\0') && parts.length === 2 && parts[0] !== '' && parts[1] === 'Chart.yaml') {
      if (size > MAX_CHART_YAML) throw new ChartArchiveError(`Chart.yaml is larger than ${MAX_CHART_YAML} bytes`);
      this.#startCollect(size, padded, false);
      return;
    }
    this.#skip = padded;
  }

  #startCollect(size: number, padded: number, pax: boolean): void {
    this.#collect = [];
    this.#collectSize = size;
    this.#readingPax = pax;
    this.#skip = padded;
    if (padded === 0) this.#entryDone();
  }

  #entryDone(): void {
    const data = Buffer.concat(this.#collect ?? []).subarray(0, this.#collectSize);
    this.#collect = undefined;
    if (!this.#readingPax) {
      this.found = data;
      throw new Found('Chart.yaml found');
    }
    this.#paxPath = paxPath(data);
  }
}

/** The `path` record of a PAX extended header ("<len> path=<value>\n" records). */
function paxPath(data: Buffer): string | undefined {
  let at = 0;
  let path: string | undefined;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number(data.subarray(at, space).toString('latin1'));
    if (!Number.isInteger(len) || len <= 0 || at + len > data.length) throw new ChartArchiveError('a PAX header in the chart archive is malformed');
    const record = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    at += len;
  }
  return path;
}

function field(header: Buffer, at: number, len: number): string {
  const f = header.subarray(at, at + len);
  const nul = f.indexOf(0);
  return f.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

function octal(bytes: Buffer): number {
  const s = field(bytes, 0, bytes.length).trim();
  if (!/^[0-7]{1,12}$/.test(s)) throw new ChartArchiveError(`a tar header of the chart archive has a bad size field "${s.slice(0, 20)}"`);
  return parseInt(s, 8);
}
