/**
 * A Maven publisher's signing key held by the real GnuPG in a throwaway home directory, signing
 * the way the maven-gpg-plugin does (`gpg --armor --detach-sign`). Ed25519, so it is fast.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface MavenAuthor {
  name: string;
  fingerprint: string;
  armoredPublic: string;
  /** Armored detached signature, as `<file>.asc` on a Maven repository. */
  sign(bytes: Buffer | string): Promise<Buffer>;
  close(): Promise<void>;
}

export async function makeMavenAuthor(name: string): Promise<MavenAuthor> {
  const home = await mkdtemp(join(tmpdir(), 'countersign-maven-author-'));
  const gpg = ['--homedir', home, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', ''];
  await run('gpg', [...gpg, '--quick-gen-key', `${name} <release@upstream.example>`, 'ed25519', 'sign', 'never']);
  const { stdout: colons } = await run('gpg', [...gpg, '--with-colons', '--list-keys']);
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(colons)?.[1];
  if (!fingerprint) throw new Error(`gpg made no key for ${name}`);
  const { stdout: armoredPublic } = await run('gpg', [...gpg, '--armor', '--export', fingerprint]);
  return {
    name,
    fingerprint,
    armoredPublic,
    sign: (bytes) => pipe('gpg', [...gpg, '--armor', '--detach-sign', '--local-user', fingerprint], Buffer.from(bytes)),
    async close() {
      await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
}

function pipe(cmd: string, args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${cmd} exited ${code}: ${Buffer.concat(err).toString()}`))));
    child.stdin.end(input);
  });
}
