/** `upstream: auto` for npm: the registry this machine's npm is configured with. */
import { execFile } from 'node:child_process';

export function npmConfiguredRegistry(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('npm', ['config', 'get', 'registry'], { env, timeout: 20_000 }, (err, stdout) => {
      const value = err ? '' : stdout.trim();
      try {
        const url = new URL(value);
        resolve(url.protocol === 'http:' || url.protocol === 'https:' ? value : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}
