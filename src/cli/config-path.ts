import { resolve } from 'node:path';

/** `--config FILE`, else COUNTERSIGN_CONFIG, else config/default.yaml. */
export function configPath(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(option ?? env.COUNTERSIGN_CONFIG ?? 'config/default.yaml');
}
