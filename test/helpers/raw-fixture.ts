/** Publishes files on a fixture upstream the way a signed release site does: file, .sha256, .asc. */
import { createHash } from 'node:crypto';
import type { FixtureUpstream } from './fixture-upstream.js';
import type { UpstreamPgpKey } from './upstream-openpgp.js';

export async function publishRaw(
  upstream: FixtureUpstream,
  key: UpstreamPgpKey,
  path: string,
  bytes: Buffer | string,
  opts: { signWith?: UpstreamPgpKey; checksumOf?: Buffer | string } = {},
): Promise<void> {
  const buf = Buffer.from(bytes);
  const name = path.slice(path.lastIndexOf('/') + 1);
  upstream.setFile(path, buf);
  upstream.setFile(`${path}.sha256`, `${sha256(opts.checksumOf ?? buf)}  ${name}\n`);
  upstream.setFile(`${path}.asc`, await (opts.signWith ?? key).sign(buf));
}

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
