/**
 * The upstream's publisher, played by the real cosign (Debian trixie's 2.5 from .tools/trixie):
 * `cosign generate-key-pair` and `cosign sign --key` against a fixture registry, with the
 * transparency log off (offline), exactly as a publisher with a key pair signs.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { trixieVerifiers } from './trixie-verifiers.js';

const PASSWORD = 'fixture-password';

export interface CosignKeyPair {
  /** cosign's encrypted private key file. */
  key: string;
  /** PEM `PUBLIC KEY` file. */
  pub: string;
  pubPem: string;
}

export class CosignSigner {
  readonly #work: string;
  readonly #env: NodeJS.ProcessEnv;

  constructor(work: string) {
    this.#work = work;
    this.#env = { PATH: process.env.PATH, HOME: join(work, 'home'), TMPDIR: work, DOCKER_CONFIG: join(work, 'home', '.docker'), COSIGN_PASSWORD: PASSWORD };
  }

  async generateKeyPair(prefix: string): Promise<CosignKeyPair> {
    await mkdir(join(this.#work, 'home'), { recursive: true });
    await this.#cosign(['generate-key-pair', '--output-key-prefix', join(this.#work, prefix)]);
    const pub = join(this.#work, `${prefix}.pub`);
    return { key: join(this.#work, `${prefix}.key`), pub, pubPem: await readFile(pub, 'utf8') };
  }

  /**
   * Signs `ref` (host/name@sha256:…) and pushes the signature to its `sha256-<hex>.sig` tag;
   * `payload`: a file signed instead of the payload cosign would make (to name another digest);
   * `annotations`: `-a key=value` pairs cosign writes into the payload's `optional` section.
   */
  async sign(ref: string, pair: CosignKeyPair, opts: { recursive?: boolean; payload?: string; annotations?: Record<string, string> } = {}): Promise<void> {
    const args = ['sign', '--key', pair.key, '--tlog-upload=false', '--allow-insecure-registry', '--yes'];
    if (opts.recursive) args.push('--recursive');
    for (const [k, v] of Object.entries(opts.annotations ?? {})) args.push('-a', `${k}=${v}`);
    if (opts.payload) args.push('--payload', opts.payload);
    await this.#cosign([...args, ref]);
  }

  #cosign(args: string[]): Promise<void> {
    const { cosign } = trixieVerifiers();
    return new Promise((resolve, reject) => {
      execFile(cosign, args, { env: this.#env, cwd: this.#work, timeout: 120_000 }, (err, _stdout, stderr) => {
        if (err) reject(new Error(`cosign ${args[0]} failed: ${stderr || err.message}`));
        else resolve();
      });
    });
  }
}
