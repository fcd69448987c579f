/**
 * The real GnuPG on both sides of a Helm repository: a chart author's key that clearsigns
 * provenance files exactly as `helm package --sign` lays them out (gpg --clearsign, SHA-512), and
 * the checks a Helm client makes of what the mirror serves, done independently of the mirror's
 * code: the signature with a binary keyring (what Helm 3 reads), then the archive's sha256 against
 * the `files` entry for its file name (helm/helm pkg/provenance/sign.go Verify).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const run = promisify(execFile);

export interface ChartAuthorKey {
  fingerprint: string;
  armoredPublic: string;
  /** gpg --clearsign of `body` (the whole text; its final newline ends the last signed line). */
  clearsign(body: string): Promise<string>;
  close(): Promise<void>;
}

export async function makeChartAuthorKey(name: string): Promise<ChartAuthorKey> {
  const home = await mkdtemp(join(tmpdir(), 'helm-author-gpg-'));
  const gpg = (...args: string[]) => run('gpg', ['--homedir', home, '--batch', '--quiet', ...args]);
  await gpg('--passphrase', '', '--quick-gen-key', `${name} <author@upstream.example>`, 'ed25519', 'sign', 'never');
  const { stdout } = await gpg('--with-colons', '--list-keys');
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(stdout)?.[1];
  if (!fingerprint) throw new Error(`gpg made no key:\n${stdout}`);
  const armoredPublic = (await gpg('--armor', '--export', fingerprint)).stdout;
  return {
    fingerprint,
    armoredPublic,
    async clearsign(body) {
      const file = join(home, `body-${Math.random().toString(36).slice(2)}`);
      await writeFile(file, body);
      await gpg('--yes', '--local-user', fingerprint, '--digest-algo', 'SHA512', '--clearsign', file);
      return readFile(`${file}.asc`, 'utf8');
    },
    async close() {
      await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
}

export type HelmCheck = { ok: true; signer: string; text: string } | { ok: false; reason: string };

/**
 * What `helm verify --keyring <keyring> <file>` checks, with gpg: the `.prov` signature against a
 * binary keyring made from `armoredKeys` with `gpg --dearmor` (as the mirror's setup page says),
 * then the sha256 of `archive` against `files[fileName]` of the signed text.
 */
export async function verifyLikeHelm(armoredKeys: string, prov: Buffer | string, archive: Buffer, fileName: string): Promise<HelmCheck> {
  const home = await mkdtemp(join(tmpdir(), 'helm-client-gpg-'));
  try {
    await writeFile(join(home, 'keys.asc'), armoredKeys);
    await writeFile(join(home, 'chart.prov'), prov);
    await run('sh', ['-c', `gpg --dearmor < '${join(home, 'keys.asc')}' > '${join(home, 'keyring.gpg')}'`]);
    let status: string;
    try {
      // --decrypt of a clearsigned file verifies it and writes the signed text (status lines go to stderr).
      status = (await run('gpg', [
        '--homedir', home, '--batch', '--no-default-keyring', '--keyring', join(home, 'keyring.gpg'), '--trust-model', 'always',
        '--status-fd', '2', '--output', join(home, 'signed.txt'), '--decrypt', join(home, 'chart.prov'),
      ], { encoding: 'utf8' })).stderr;
    } catch (err) {
      return { ok: false, reason: `gpg refused the .prov: ${String((err as { stderr?: string }).stderr ?? err).slice(0, 600)}` };
    }
    const valid = /\[GNUPG:\] VALIDSIG ([0-9A-F]{40})/.exec(status);
    if (!valid) return { ok: false, reason: `gpg found no valid signature:\n${status}` };
    const text = await readFile(join(home, 'signed.txt'), 'utf8');
    const at = text.indexOf('\n...\n');
    if (at < 0) return { ok: false, reason: 'the signed text has no "..." separator' };
    const files = (parse(text.slice(at + 5)) as { files?: Record<string, string> }).files ?? {};
    const sha256 = createHash('sha256').update(archive).digest('hex');
    if (files[fileName] !== `sha256:${sha256}`) return { ok: false, reason: `files[${fileName}] is ${files[fileName]}, the archive is sha256:${sha256}` };
    return { ok: true, signer: valid[1]!, text };
  } finally {
    await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}
