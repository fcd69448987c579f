/** The real GnuPG, in a throwaway home directory, as a client verifying the mirror would. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function gpgVerify(publicKeysArmored: string, data: Buffer, signature: Buffer | string): Promise<{ ok: boolean; status: string }> {
  const home = await mkdtemp(join(tmpdir(), 'countersign-gpg-'));
  try {
    await writeFile(join(home, 'keys.asc'), publicKeysArmored);
    await writeFile(join(home, 'data'), data);
    await writeFile(join(home, 'data.asc'), signature);
    await run('gpg', ['--homedir', home, '--batch', '--quiet', '--import', join(home, 'keys.asc')]);
    try {
      const { stdout } = await run('gpg', ['--homedir', home, '--batch', '--status-fd', '1', '--verify', join(home, 'data.asc'), join(home, 'data')]);
      return { ok: /\[GNUPG:\] VALIDSIG /.test(stdout), status: stdout };
    } catch (err) {
      return { ok: false, status: String((err as { stdout?: string }).stdout ?? err) };
    }
  } finally {
    await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}
