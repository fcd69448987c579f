/**
 * deb822 paragraphs: https://manpages.debian.org/bookworm/dpkg-dev/deb822.5.en.html
 * (and https://wiki.debian.org/DebianRepository/Format for where each kind is used).
 *
 * Input is attacker-controlled text (even when signed, a signature says who wrote it, not that
 * it is well-formed): field names are checked, duplicates are refused (two parsers could pick
 * different copies), and every size is bounded by the caller.
 */

export interface Field {
  /** As written (field names are case-insensitive; look them up lowercased). */
  name: string;
  /** The text after "Name:" on the first line, trimmed. */
  value: string;
  /** Continuation lines, each without its leading space/tab and trimmed; "." stands for an empty line. */
  continuation: string[];
}

export type Paragraph = Map<string, Field>;

const FIELD_NAME = /^[!-9;-~][!-9;-~]*$/; // printable ASCII without ":" or space; may not start with "#" or "-" (checked below)

export class Deb822Error extends Error {
  override readonly name = 'Deb822Error';
}

// Indexes repeat a few dozen field names 60,000 times: check and lowercase each name once.
const KNOWN_KEYS = new Map<string, string>();

function fieldKey(name: string): string | undefined {
  const known = KNOWN_KEYS.get(name);
  if (known !== undefined) return known;
  if (!name || !FIELD_NAME.test(name)) return undefined;
  const key = name.toLowerCase();
  if (KNOWN_KEYS.size < 1024) KNOWN_KEYS.set(name, key);
  return key;
}

/** A field whose value is not kept (only its continuation lines are skipped). */
const IGNORED: Field = Object.freeze({ name: '', value: '', continuation: Object.freeze([]) as unknown as string[] });

/** Parses one field line or continuation into `para`; returns the field continued by later lines. */
function addLine(para: Paragraph, line: string, current: Field | undefined, lineNo: number, keep?: ReadonlySet<string>): Field | undefined {
  const first = line.charCodeAt(0);
  if (first === 32 || first === 9) {
    if (!current) throw new Deb822Error(`line ${lineNo}: a continuation line with no field before it`);
    if (current !== IGNORED) current.continuation.push(line.trim());
    return current;
  }
  const colon = line.indexOf(':');
  const name = colon > 0 ? line.slice(0, colon) : '';
  const key = fieldKey(name);
  if (key === undefined || first === 45 /* - */) throw new Deb822Error(`line ${lineNo}: not a "Field: value" line`);
  if (keep && !keep.has(key)) return IGNORED;
  if (para.has(key)) throw new Deb822Error(`line ${lineNo}: field "${name}" appears twice`);
  const field: Field = { name, value: line.slice(colon + 1).trim(), continuation: [] };
  para.set(key, field);
  return field;
}

/**
 * Parses text that must hold exactly one paragraph (a Release file). Blank lines may surround it;
 * a second paragraph is refused, since apt and this parser could disagree about which one counts.
 */
export function parseSingleParagraph(text: string): { paragraph: Paragraph; lines: string[] } {
  const lines = text.split('\n').map((l) => l.replace(/[ \t\r]+$/, ''));
  const para: Paragraph = new Map();
  let current: Field | undefined;
  let ended = false;
  lines.forEach((line, i) => {
    if (line === '') {
      if (para.size > 0) ended = true;
      current = undefined;
      return;
    }
    if (ended) throw new Deb822Error(`line ${i + 1}: a second paragraph`);
    current = addLine(para, line, current, i + 1);
  });
  if (para.size === 0) throw new Deb822Error('no fields');
  return { paragraph: para, lines };
}

/** The whole value of a field: first line and continuation lines joined with "\n". */
export function fieldText(field: Field | undefined): string | undefined {
  if (!field) return undefined;
  return [field.value, ...field.continuation].filter((l, i) => i > 0 || l !== '').join('\n');
}

/**
 * Splits a stream of text (Packages, Sources) into paragraphs without holding it all: feed
 * chunks, get paragraphs back. Comment lines ("#") are skipped as in deb822 control files. A
 * malformed paragraph is dropped (and counted in `errors`) without losing the others.
 */
export class ParagraphStream {
  readonly errors: string[] = [];
  #rest = '';
  #para: Paragraph = new Map();
  #current: Field | undefined;
  #broken = false;
  #lineNo = 0;
  readonly #maxLine: number;
  readonly #keep: ReadonlySet<string> | undefined;

  /** `fields`: lowercased names to keep (the others are checked for form only, and skipped). */
  constructor(opts: { maxLineChars?: number; fields?: readonly string[] } = {}) {
    this.#maxLine = opts.maxLineChars ?? 1024 * 1024;
    this.#keep = opts.fields ? new Set(opts.fields) : undefined;
  }

  /** Returns the paragraphs completed by this chunk. */
  push(chunk: string): Paragraph[] {
    const text = this.#rest + chunk;
    const lines = text.split('\n');
    this.#rest = lines.pop() ?? '';
    if (this.#rest.length > this.#maxLine) throw new Deb822Error(`line ${this.#lineNo + 1}: longer than ${this.#maxLine} characters`);
    const done: Paragraph[] = [];
    for (const raw of lines) this.#line(raw, done);
    return done;
  }

  /** Returns the last paragraph, if the text did not end with a blank line. */
  end(): Paragraph[] {
    const done: Paragraph[] = [];
    if (this.#rest !== '') this.#line(this.#rest, done);
    this.#rest = '';
    this.#flush(done);
    return done;
  }

  #line(raw: string, done: Paragraph[]): void {
    this.#lineNo++;
    const last = raw.charCodeAt(raw.length - 1);
    const line = last === 32 || last === 9 || last === 13 ? raw.replace(/[ \t\r]+$/, '') : raw;
    if (line === '') return this.#flush(done);
    if (line.charCodeAt(0) === 35 /* # */ || this.#broken) return;
    try {
      this.#current = addLine(this.#para, line, this.#current, this.#lineNo, this.#keep);
    } catch (err) {
      this.#broken = true;
      if (this.errors.length < 20) this.errors.push((err as Error).message);
    }
  }

  #flush(done: Paragraph[]): void {
    if (this.#para.size > 0 && !this.#broken) done.push(this.#para);
    this.#para = new Map();
    this.#current = undefined;
    this.#broken = false;
  }
}
