/**
 * `upstream: auto` for Debian: the archive this machine's apt uses. One repository maps to one
 * archive URI: the first `deb` entry of the apt sources (sources.list, then sources.list.d/ in
 * name order, as apt reads them), or the first that lists `trust.autoSuite`. Every suite and
 * component under that URI is mirrorable (they are paths under it). Trust is the keyring apt
 * uses for that entry: its signed-by files, else apt's trusted.gpg and trusted.gpg.d.
 * COUNTERSIGN_APT_ETC points elsewhere than /etc/apt (tests).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AutoUpstream } from '../types.js';
import { parseDeb822Sources, parseOneLineSources, pickSource, sameArchive, trimSlash, type AptSource } from './apt-sources.js';
import type { DebianTrust } from './trust.js';

export async function aptConfiguredArchive(env: NodeJS.ProcessEnv, repository: { trust: DebianTrust }): Promise<AutoUpstream<DebianTrust> | undefined> {
  const etc = env.COUNTERSIGN_APT_ETC || '/etc/apt';
  const sources = await readSources(etc);
  const picked = pickSource(sources, repository.trust.autoSuite);
  if (!picked) return undefined;
  const { suites, components } = sameArchive(sources, picked);
  const keyring = picked.signedBy.length > 0 ? picked.signedBy : await aptTrustedKeyrings(etc);
  return {
    upstream: trimSlash(picked.uri),
    trust: {
      ...(keyring.length > 0 ? { keyring: keyring.length === 1 ? keyring[0]! : keyring } : {}),
      ...(suites.length > 0 ? { suites } : {}),
      ...(components.length > 0 ? { components } : {}),
    },
  };
}

async function readSources(etc: string): Promise<AptSource[]> {
  const out: AptSource[] = [];
  const main = join(etc, 'sources.list');
  const text = await readFile(main, 'utf8').catch(() => undefined);
  if (text !== undefined) out.push(...parseOneLineSources(text, main));
  const dir = join(etc, 'sources.list.d');
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  for (const name of names) {
    const file = join(dir, name);
    if (name.endsWith('.list')) out.push(...parseOneLineSources(await readFile(file, 'utf8').catch(() => ''), file));
    else if (name.endsWith('.sources')) out.push(...parseDeb822Sources(await readFile(file, 'utf8').catch(() => ''), file));
  }
  return out;
}

/** apt's default trust when an entry names no signed-by: trusted.gpg and trusted.gpg.d/*.{gpg,asc}. */
async function aptTrustedKeyrings(etc: string): Promise<string[]> {
  const files: string[] = [];
  const legacy = join(etc, 'trusted.gpg');
  if (await readFile(legacy).then(() => true, () => false)) files.push(legacy);
  const dir = join(etc, 'trusted.gpg.d');
  for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
    if (name.endsWith('.gpg') || name.endsWith('.asc')) files.push(join(dir, name));
  }
  return files;
}
