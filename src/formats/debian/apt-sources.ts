/**
 * apt's sources, both styles: https://manpages.debian.org/bookworm/apt/sources.list.5.en.html
 *  - one-line: `deb [ opt=value … ] uri suite [component …]` in sources.list and *.list;
 *  - deb822: paragraphs with Types, URIs, Suites, Components, Signed-By, Enabled in *.sources.
 * The files are the machine's own configuration, read to resolve `upstream: auto`; they are still
 * parsed strictly (a line that does not parse is skipped, never guessed at).
 */
import { fieldText, ParagraphStream } from './deb822.js';

export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
  /** Keyring files named by signed-by (fingerprints and inline keys are not files: left out). */
  signedBy: string[];
  /** The file it came from, for messages. */
  file: string;
}

/** Parses sources.list / *.list text; keeps `deb` entries (not deb-src). */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)((?:\s+\S+)*)$/.exec(line);
    if (!m || m[1] !== 'deb') continue;
    const options = parseOptions(m[2] ?? '');
    out.push({
      uri: m[3]!,
      suites: [m[4]!],
      components: (m[5] ?? '').trim().split(/\s+/).filter(Boolean),
      signedBy: keyringFiles((options.get('signed-by') ?? '').split(',')),
      file,
    });
  }
  return out;
}

/** Parses a deb822 *.sources file; keeps enabled paragraphs whose Types include `deb`. */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const stream = new ParagraphStream();
  const paragraphs = [...stream.push(text), ...stream.end()];
  const out: AptSource[] = [];
  for (const p of paragraphs) {
    const words = (key: string): string[] => (fieldText(p.get(key)) ?? '').split(/\s+/).filter(Boolean);
    if (!words('types').includes('deb')) continue;
    if ((p.get('enabled')?.value ?? 'yes').toLowerCase() === 'no') continue;
    const signedBy = p.get('signed-by');
    // An inline key has continuation lines; a value on one line is a list of files or fingerprints.
    const files = signedBy && signedBy.continuation.length === 0 ? keyringFiles(signedBy.value.split(/[\s,]+/)) : [];
    for (const uri of words('uris')) {
      out.push({ uri, suites: words('suites'), components: words('components'), signedBy: files, file });
    }
  }
  return out;
}

function parseOptions(text: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const item of text.trim().split(/\s+/).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq > 0) options.set(item.slice(0, eq).toLowerCase(), item.slice(eq + 1));
  }
  return options;
}

/** Keeps absolute paths (a fingerprint names a key in trusted.gpg.d, not a file). */
function keyringFiles(values: string[]): string[] {
  return values.map((v) => v.trim()).filter((v) => v.startsWith('/'));
}

/** The first http(s) entry, or the first that lists `suite`. */
export function pickSource(sources: AptSource[], suite?: string): AptSource | undefined {
  const web = sources.filter((s) => /^https?:\/\//.test(s.uri));
  return suite ? web.find((s) => s.suites.includes(suite)) : web[0];
}

/** Suites and components of every entry with the same archive URI as `picked`. */
export function sameArchive(sources: AptSource[], picked: AptSource): { suites: string[]; components: string[] } {
  const same = sources.filter((s) => trimSlash(s.uri) === trimSlash(picked.uri));
  return {
    suites: [...new Set(same.flatMap((s) => s.suites))],
    components: [...new Set(same.flatMap((s) => s.components))],
  };
}

export function trimSlash(uri: string): string {
  return uri.replace(/\/+$/, '');
}
