/**
 * Rewrites a text as it streams: the text is appended chunk by chunk, edits replace spans of it
 * (offsets into the whole text), and `flush(upTo)` hands on everything before `upTo` with its edits
 * applied. Only the text after the last flush is held, so a rewrite that flushes per element holds
 * about one element, however long the document.
 */
import { MetadataError } from './xml-text.js';

export interface Edit {
  start: number;
  end: number;
  with: string;
}

export class SpliceWriter {
  #text = '';
  /** Offset of #text[0] in the whole text. */
  #base = 0;
  #edits: Edit[] = [];
  readonly #out: (piece: string) => void;

  constructor(out: (piece: string) => void) {
    this.#out = out;
  }

  append(chunk: string): void {
    this.#text += chunk;
  }

  edit(e: Edit): void {
    if (e.start < this.#base || e.end < e.start || e.end > this.#base + this.#text.length) throw new MetadataError('an edit outside the text still held');
    this.#edits.push(e);
  }

  /** Hands on the text before `upTo`; edits must lie wholly before it or wholly after. */
  flush(upTo: number): void {
    const edits = this.#edits.filter((e) => e.start < upTo).sort((a, b) => a.start - b.start);
    this.#edits = this.#edits.filter((e) => e.start >= upTo);
    let out = '';
    let at = this.#base;
    for (const e of edits) {
      if (e.start < at || e.end > upTo) throw new MetadataError('overlapping edits');
      out += this.#text.slice(at - this.#base, e.start - this.#base) + e.with;
      at = e.end;
    }
    out += this.#text.slice(at - this.#base, upTo - this.#base);
    this.#text = this.#text.slice(upTo - this.#base);
    this.#base = upTo;
    if (out) this.#out(out);
  }

  end(): void {
    this.flush(this.#base + this.#text.length);
  }
}
