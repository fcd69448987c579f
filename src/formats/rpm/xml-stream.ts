/**
 * createrepo metadata read with a real streaming XML parser (saxes: https://github.com/lddubeau/saxes,
 * XML 1.0 well-formedness, https://www.w3.org/TR/xml/), never by regular expressions: one pass,
 * linear in the input, and a document that is not well-formed (an unclosed `<package>`, a stray
 * `</x>`, an unknown entity) is refused with the parser's reason. The bytes are attacker-controlled
 * even after their checksum matched a verified repomd.xml.
 *
 * Events carry offsets into the text (JavaScript string indexes, as saxes counts them) so a rewrite
 * can replace single elements and keep every other byte as the upstream wrote it (splice-writer.ts).
 * Constructs createrepo_c never writes and that only make room for ambiguity (DTDs and their
 * entities, comments, CDATA, processing instructions) are refused, not interpreted.
 */
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { MetadataError } from './xml-text.js';

export interface OpenTag {
  name: string;
  attributes: Readonly<Record<string, string>>;
  /** Offset of `<`, and just past `>`. */
  start: number;
  end: number;
  selfClosing: boolean;
  /** Elements open around this one (the root has depth 0). */
  depth: number;
}

export interface CloseTag {
  name: string;
  /** Just past the end tag's `>` (or the `/>` of a self-closing one). */
  end: number;
  depth: number;
}

export interface XmlHandlers {
  open?(tag: OpenTag): void;
  close?(tag: CloseTag): void;
  /** Character data (entities resolved); only delivered while `wantText()` says so. */
  text?(text: string): void;
}

export class XmlStream {
  readonly #parser = new SaxesParser({ xmlns: false, position: true });
  readonly #what: string;
  #depth = 0;
  #start = 0;
  #events = 0;

  constructor(what: string, handlers: XmlHandlers) {
    this.#what = what;
    const p = this.#parser;
    const refuse = (construct: string) => (): never => {
      throw new MetadataError(`${what} uses ${construct}, which the mirror does not accept in repository metadata`);
    };
    p.on('doctype', refuse('a DTD'));
    p.on('comment', refuse('a comment'));
    p.on('cdata', refuse('CDATA'));
    p.on('processinginstruction', refuse('a processing instruction'));
    p.on('error', (err) => {
      throw err instanceof MetadataError ? err : new MetadataError(`${what} is not well-formed XML: ${err.message}`);
    });
    // opentagstart fires once the name and the character after it are read: `<` is name + 2 back.
    p.on('opentagstart', (tag) => {
      this.#start = p.position - tag.name.length - 2;
    });
    p.on('opentag', (tag: SaxesTagPlain) => {
      this.#events++;
      handlers.open?.({ name: tag.name, attributes: tag.attributes, start: this.#start, end: p.position, selfClosing: tag.isSelfClosing, depth: this.#depth });
      if (!tag.isSelfClosing) this.#depth++;
    });
    p.on('closetag', (tag: SaxesTagPlain) => {
      this.#events++;
      if (!tag.isSelfClosing) this.#depth--;
      handlers.close?.({ name: tag.name, end: p.position, depth: this.#depth });
    });
    if (handlers.text) {
      const text = handlers.text;
      p.on('text', (t) => {
        this.#events++;
        text(t);
      });
    }
  }

  /** Tags and texts seen so far: the work done, which tests compare across input sizes. */
  get events(): number {
    return this.#events;
  }

  write(chunk: string): void {
    this.#parser.write(chunk);
  }

  end(): void {
    this.#parser.close();
    if (this.#depth !== 0) throw new MetadataError(`${this.#what} ends inside an element`);
  }
}

/** XML attribute text escaped as libxml2 (which createrepo_c writes with) escapes it. */
export function escapeAttribute(value: string): string {
  let out = '';
  for (const c of value) {
    switch (c) {
      case '&': out += '&amp;'; break;
      case '<': out += '&lt;'; break;
      case '>': out += '&gt;'; break;
      case '"': out += '&quot;'; break;
      case '\n': out += '&#10;'; break;
      case '\r': out += '&#13;'; break;
      case '\t': out += '&#9;'; break;
      default: out += c;
    }
  }
  return out;
}

/** A start tag (or empty-element tag) with these attributes, in their order. */
export function startTag(name: string, attributes: Readonly<Record<string, string>>, selfClosing: boolean): string {
  const attrs = Object.entries(attributes).map(([k, v]) => ` ${k}="${escapeAttribute(v)}"`).join('');
  return `<${name}${attrs}${selfClosing ? '/>' : '>'}`;
}
