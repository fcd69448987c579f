/**
 * Debian trixie's cosign 2.5 and skopeo 1.18 (bookworm's skopeo cannot verify sigstore
 * signatures), fetched by scripts/fetch-trixie-verifiers.sh into .tools/trixie when missing.
 * A machine where they cannot be obtained fails the OCI e2e tests with this reason: they
 * never pass without having run the real verifiers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export interface Verifiers {
  cosign: string;
  skopeo: string;
}

let cached: Verifiers | undefined;

export function trixieVerifiers(): Verifiers {
  if (cached) return cached;
  const dir = resolve(process.env.COUNTERSIGN_TOOLS_DIR ?? '.tools/trixie');
  const tools = { cosign: resolve(dir, 'bin/cosign'), skopeo: resolve(dir, 'bin/skopeo') };
  if (!existsSync(tools.cosign) || !existsSync(tools.skopeo)) {
    const r = spawnSync('sh', ['scripts/fetch-trixie-verifiers.sh', dir], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0 || !existsSync(tools.cosign) || !existsSync(tools.skopeo)) {
      throw new Error(
        `trixie cosign/skopeo are not available in ${dir} and scripts/fetch-trixie-verifiers.sh failed ` +
          `(status ${r.status}): ${(r.stderr || r.stdout || String(r.error)).slice(-2000)}`,
      );
    }
  }
  cached = tools;
  return tools;
}
